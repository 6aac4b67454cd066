// Grafana dashboard "Wolkvox IVR": the calls through the IVR menu options, and the PULSE share
// that WolkvoxIvrPulseSpike watches with its threshold drawn.
{
  local c = $._config,
  local r = $._records,

  // Names people read: the info series of the routing points and menu options, joined in with
  // a fallback to the id where there is none. `or on(<the series' labels>)` adds the fallback
  // only for series that the join left out, so that a series never appears twice.
  local sel = 'job=~"$job", instance=~"$instance", operation=~"$operation"',
  local rpInfo = 'group by (operation, rp_id, rp_name) (label_replace(wolkvox_ivr_routing_point_info{' + sel + '}, "rp_name", "$1", "name", "(.+)"))',
  local optionInfo = 'group by (operation, rp_id, cod_opc_menu, option_name, category) (label_replace(wolkvox_ivr_menu_option_info{' + sel + '}, "option_name", "$1", "name", "(.+)"))',
  // `e`, whose series have the labels `by` (operation and rp_id among them), with rp_name.
  local withRpName(e, by) = '(\n  (' + e + ')\n  * on(operation, rp_id) group_left(rp_name)\n  ' + rpInfo + '\n  or on(' + by + ')\n  label_replace(' + e + ', "rp_name", "$1", "rp_id", "(.*)")\n)',
  // `e`, whose series have the labels `by` (operation, rp_id and cod_opc_menu among them), with
  // option_name and category: PULSE is `pulse` and the rest `other` where no info series says.
  local withOptionName(e, by) = '(\n  (' + e + ')\n  * on(operation, rp_id, cod_opc_menu) group_left(option_name, category)\n  ' + optionInfo + '\n  or on(' + by + ')\n  label_replace(label_replace(label_replace(' + e + ', "option_name", "$1", "cod_opc_menu", "(.*)"), "category", "other", "", ""), "category", "pulse", "cod_opc_menu", "PULSE")\n)',
  local perOption = 'operation, rp_id, cod_opc_menu',
  // A variable shows the name and selects the id: query_result() lists the named series on one
  // line each (Grafana's pattern needs one line), and the regex takes the id as the value and
  // the name as the text.
  local oneLine(e) = std.strReplace(std.strReplace(e, '\n  ', ' '), '\n', ' '),
  local rpVariable = 'query_result(' + oneLine(withRpName('group by (operation, rp_id) (wolkvox_ivr_menu_calls{' + sel + '})', 'operation, rp_id')) + ')',
  local optionVariable = 'query_result(' + oneLine(withOptionName('group by (operation, rp_id, cod_opc_menu) (wolkvox_ivr_menu_calls{' + sel + ', rp_id=~"$rp_id"})', perOption)) + ')',
  local named(e) = withRpName(withOptionName(e, perOption), perOption),
  // Calls per category and routing point in the report window.
  local categoryCalls = withRpName('sum by (operation, rp_id, category) (' + withOptionName('sum by (operation, rp_id, cod_opc_menu) (wolkvox_ivr_menu_calls{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id", cod_opc_menu=~"$cod_opc_menu"})', perOption) + ')', 'operation, rp_id, category'),

  grafanaDashboards+:: {
    'wolkvox-ivr.json': {
      uid: 'wolkvox-ivr',
      title: 'Wolkvox IVR',
      description: 'Calls through the IVR menu options of Wolkvox routing points, and the PULSE share that WolkvoxIvrPulseSpike watches. Data from wolkvox-exporter.',
      tags: c.dashboardTags + ['ivr'],
      schemaVersion: 39,
      version: 1,
      editable: true,
      graphTooltip: 1,
      time: {
        from: 'now-24h',
        to: 'now',
      },
      timepicker: {},
      timezone: '',
      refresh: c.dashboardRefresh,
      fiscalYearStartMonth: 0,
      liveNow: false,
      weekStart: '',
      links: [
        {
          title: 'Wolkvox dashboards',
          type: 'dashboards',
          tags: c.dashboardTags,
          asDropdown: true,
          includeVars: true,
          keepTime: true,
          icon: 'external link',
          targetBlank: false,
          tooltip: '',
          url: '',
        },
      ],
      annotations: {
        list: [
          {
            builtIn: 1,
            datasource: {
              type: 'grafana',
              uid: '-- Grafana --',
            },
            enable: true,
            hide: true,
            iconColor: 'rgba(0, 211, 255, 1)',
            name: 'Annotations & Alerts',
            type: 'dashboard',
          },
          {
            name: 'PULSE spike alerts',
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            enable: true,
            hide: false,
            iconColor: 'red',
            expr: 'ALERTS{alertname="WolkvoxIvrPulseSpike", alertstate="firing", job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id"}',
            step: '1m',
            titleFormat: 'WolkvoxIvrPulseSpike',
            textFormat: 'routing point {{rp_id}} ({{operation}})',
            useValueForTime: false,
          },
        ],
      },
      templating: {
        list: [
          {
            name: 'datasource',
            label: 'Data source',
            type: 'datasource',
            query: 'prometheus',
            current: {},
            hide: 0,
            includeAll: false,
            multi: false,
            options: [],
            refresh: 1,
            regex: '',
            skipUrlSync: false,
          },
          {
            name: 'job',
            label: 'Job',
            description: 'Prometheus job of the exporters: one per scrape configuration.',
            type: 'query',
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            definition: 'label_values(wolkvox_up, job)',
            query: {
              query: 'label_values(wolkvox_up, job)',
              refId: 'PrometheusVariableQueryEditor-VariableQuery',
            },
            current: {
              selected: true,
              text: [
                'All',
              ],
              value: [
                '$__all',
              ],
            },
            hide: 0,
            options: [],
            refresh: 2,
            regex: '',
            sort: 1,
            skipUrlSync: false,
            multi: true,
            includeAll: true,
            allValue: '.*',
          },
          {
            name: 'instance',
            label: 'Instance',
            description: 'Scrape target of the exporter: one per exporter or shard; All also shows backfilled series written without --instance.',
            type: 'query',
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            definition: 'label_values(wolkvox_up{job=~"$job"}, instance)',
            query: {
              query: 'label_values(wolkvox_up{job=~"$job"}, instance)',
              refId: 'PrometheusVariableQueryEditor-VariableQuery',
            },
            current: {
              selected: true,
              text: [
                'All',
              ],
              value: [
                '$__all',
              ],
            },
            hide: 0,
            options: [],
            refresh: 2,
            regex: '',
            sort: 1,
            skipUrlSync: false,
            multi: true,
            includeAll: true,
            allValue: '.*',
          },
          {
            name: 'operation',
            label: 'Operation',
            type: 'query',
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            definition: 'label_values(wolkvox_up{job=~"$job", instance=~"$instance"}, operation)',
            query: {
              query: 'label_values(wolkvox_up{job=~"$job", instance=~"$instance"}, operation)',
              refId: 'PrometheusVariableQueryEditor-VariableQuery',
            },
            current: {
              selected: true,
              text: [
                'All',
              ],
              value: [
                '$__all',
              ],
            },
            hide: 0,
            options: [],
            refresh: 2,
            regex: '',
            sort: 1,
            skipUrlSync: false,
            multi: true,
            includeAll: true,
            allValue: '.*',
          },
          {
            name: 'rp_id',
            label: 'Routing point',
            type: 'query',
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            definition: rpVariable,
            query: {
              query: rpVariable,
              refId: 'PrometheusVariableQueryEditor-VariableQuery',
            },
            current: {
              selected: true,
              text: [
                'All',
              ],
              value: [
                '$__all',
              ],
            },
            hide: 0,
            options: [],
            refresh: 2,
            regex: '/rp_id="(?<value>[^"]*)".*rp_name="(?<text>[^"]*)"/',
            sort: 1,
            skipUrlSync: false,
            multi: true,
            includeAll: true,
            allValue: '.*',
          },
          {
            name: 'cod_opc_menu',
            label: 'Menu option',
            type: 'query',
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            definition: optionVariable,
            query: {
              query: optionVariable,
              refId: 'PrometheusVariableQueryEditor-VariableQuery',
            },
            current: {
              selected: true,
              text: [
                'All',
              ],
              value: [
                '$__all',
              ],
            },
            hide: 0,
            options: [],
            refresh: 2,
            regex: '/cod_opc_menu="(?<value>[^"]*)".*option_name="(?<text>[^"]*)"/',
            sort: 1,
            skipUrlSync: false,
            multi: true,
            includeAll: true,
            allValue: '.*',
          },
        ],
      },
      panels: [
        {
          id: 1,
          type: 'stat',
          title: 'Calls in the report window',
          description: "Calls through the selected routing points and options in the exporter's report window (today, local time, by default): the sum of the gauge wolkvox_ivr_menu_calls.",
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 0,
            y: 0,
            w: 6,
            h: 4,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum(wolkvox_ivr_menu_calls{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id", cod_opc_menu=~"$cod_opc_menu"})',
              legendFormat: 'calls',
              range: false,
              instant: true,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              color: {
                mode: 'thresholds',
              },
              decimals: 0,
            },
            overrides: [],
          },
          options: {
            reduceOptions: {
              calcs: [
                'lastNotNull',
              ],
              fields: '',
              values: false,
            },
            colorMode: 'value',
            graphMode: 'none',
            justifyMode: 'auto',
            textMode: 'auto',
            orientation: 'auto',
          },
        },
        {
          id: 2,
          type: 'stat',
          title: 'PULSE share in the report window',
          description: "Share of the selected routing points' calls in which the caller pressed nothing (cod_opc_menu PULSE), in the report window.",
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 6,
            y: 0,
            w: 6,
            h: 4,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum(wolkvox_ivr_menu_calls{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id", cod_opc_menu="PULSE"})\n/\nsum(wolkvox_ivr_menu_calls{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id"})',
              legendFormat: 'PULSE share',
              range: false,
              instant: true,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'percentunit',
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                  {
                    color: 'orange',
                    value: 0.2,
                  },
                  {
                    color: 'red',
                    value: 0.4,
                  },
                ],
              },
              color: {
                mode: 'thresholds',
              },
            },
            overrides: [],
          },
          options: {
            reduceOptions: {
              calcs: [
                'lastNotNull',
              ],
              fields: '',
              values: false,
            },
            colorMode: 'value',
            graphMode: 'none',
            justifyMode: 'auto',
            textMode: 'auto',
            orientation: 'auto',
          },
        },
        {
          id: 3,
          type: 'stat',
          title: 'Average seconds per call',
          description: 'Time in the selected options divided by their calls, in the report window.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 12,
            y: 0,
            w: 6,
            h: 4,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum(wolkvox_ivr_menu_time_seconds{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id", cod_opc_menu=~"$cod_opc_menu"})\n/\n(sum(wolkvox_ivr_menu_calls{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id", cod_opc_menu=~"$cod_opc_menu"}) > 0)',
              legendFormat: 'seconds per call',
              range: false,
              instant: true,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 's',
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              color: {
                mode: 'thresholds',
              },
              decimals: 1,
            },
            overrides: [],
          },
          options: {
            reduceOptions: {
              calcs: [
                'lastNotNull',
              ],
              fields: '',
              values: false,
            },
            colorMode: 'value',
            graphMode: 'none',
            justifyMode: 'auto',
            textMode: 'auto',
            orientation: 'auto',
          },
        },
        {
          id: 4,
          type: 'stat',
          title: 'Calls per minute',
          description: "Calls per minute through the selected routing points and options, from the counter wolkvox_ivr_calls_total. The counters move once per poll of the exporter (every 5m by default), so the panel's minimum interval is 5m; lower it if you poll more often.",
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 18,
            y: 0,
            w: 6,
            h: 4,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum(rate(wolkvox_ivr_calls_total{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id", cod_opc_menu=~"$cod_opc_menu"}[$__rate_interval])) * 60',
              legendFormat: 'calls/min',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              color: {
                mode: 'thresholds',
              },
              decimals: 1,
            },
            overrides: [],
          },
          options: {
            reduceOptions: {
              calcs: [
                'lastNotNull',
              ],
              fields: '',
              values: false,
            },
            colorMode: 'value',
            graphMode: 'none',
            justifyMode: 'auto',
            textMode: 'auto',
            orientation: 'auto',
          },
          interval: '5m',
        },
        {
          id: 5,
          type: 'bargauge',
          title: 'Calls by menu option in the report window',
          description: 'Calls per menu option (cod_opc_menu) of each selected routing point in the report window, by name where the names file gives one, else by id.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 0,
            y: 4,
            w: 12,
            h: 9,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sort_desc(' + named('sum by (operation, rp_id, cod_opc_menu) (wolkvox_ivr_menu_calls{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id", cod_opc_menu=~"$cod_opc_menu"})') + ')',
              legendFormat: '{{rp_name}}: {{option_name}}',
              range: false,
              instant: true,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              min: 0,
              color: {
                mode: 'continuous-BlPu',
              },
            },
            overrides: [],
          },
          options: {
            orientation: 'horizontal',
            displayMode: 'gradient',
            showUnfilled: true,
            reduceOptions: {
              calcs: [
                'lastNotNull',
              ],
              fields: '',
              values: false,
            },
            valueMode: 'color',
            namePlacement: 'left',
            sizing: 'auto',
          },
        },
        {
          id: 6,
          type: 'bargauge',
          title: 'Top routing points in the report window',
          description: 'The ten routing points with the most calls in the report window.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 12,
            y: 4,
            w: 12,
            h: 9,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sort_desc(' + withRpName('topk(10, sum by (operation, rp_id) (wolkvox_ivr_menu_calls{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id", cod_opc_menu=~"$cod_opc_menu"}))', 'operation, rp_id') + ')',
              legendFormat: '{{rp_name}} ({{operation}})',
              range: false,
              instant: true,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              min: 0,
              color: {
                mode: 'continuous-BlPu',
              },
            },
            overrides: [],
          },
          options: {
            orientation: 'horizontal',
            displayMode: 'gradient',
            showUnfilled: true,
            reduceOptions: {
              calcs: [
                'lastNotNull',
              ],
              fields: '',
              values: false,
            },
            valueMode: 'color',
            namePlacement: 'left',
            sizing: 'auto',
          },
        },
        {
          id: 7,
          type: 'timeseries',
          title: 'Calls per minute by menu option',
          description: "Calls per minute per menu option, from the counter wolkvox_ivr_calls_total. The counters move once per poll of the exporter (every 5m by default), so the panel's minimum interval is 5m; lower it if you poll more often.",
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 0,
            y: 13,
            w: 12,
            h: 9,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: named('sum by (operation, rp_id, cod_opc_menu) (rate(wolkvox_ivr_calls_total{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id", cod_opc_menu=~"$cod_opc_menu"}[$__rate_interval])) * 60'),
              legendFormat: '{{rp_name}}: {{option_name}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 10,
                showPoints: 'never',
                spanNulls: false,
                stacking: {
                  mode: 'normal',
                  group: 'A',
                },
              },
              min: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'table',
              placement: 'right',
              showLegend: true,
              calcs: [
                'lastNotNull',
                'max',
              ],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          interval: '5m',
        },
        {
          id: 10,
          type: 'timeseries',
          title: 'PULSE share per routing point, with the alert threshold',
          description: "Share of each routing point's calls that chose PULSE (the caller pressed nothing) over the alert window (%s), from the recording rule %s. The dashed red line of the same routing point is %s: the share above which WolkvoxIvrPulseSpike fires (its baseline share plus what chance allows with that many calls, at least the ratio times the baseline share and at least the minimum share), once the routing point also has the minimum number of calls and the condition has held for the alert's for duration. Needs the mixin's recording rules (prometheus/wolkvox-rules.yml) loaded in Prometheus." % [c.pulseWindow, r.pulseShare, r.pulseThreshold],
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 12,
            y: 13,
            w: 12,
            h: 9,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: withRpName(r.pulseShare + '{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id"}', 'operation, rp_id'),
              legendFormat: '{{rp_name}} ({{operation}})',
              range: true,
              instant: false,
              editorMode: 'code',
            },
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'B',
              expr: withRpName(r.pulseThreshold + '{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id"}', 'operation, rp_id'),
              legendFormat: 'alert threshold {{rp_name}} ({{operation}})',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'percentunit',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 10,
                showPoints: 'never',
                spanNulls: false,
              },
              min: 0,
              max: 1,
            },
            overrides: [
              {
                matcher: {
                  id: 'byRegexp',
                  options: '/^alert threshold/',
                },
                properties: [
                  {
                    id: 'custom.lineStyle',
                    value: {
                      fill: 'dash',
                      dash: [
                        10,
                        10,
                      ],
                    },
                  },
                  {
                    id: 'custom.fillOpacity',
                    value: 0,
                  },
                  {
                    id: 'color',
                    value: {
                      mode: 'fixed',
                      fixedColor: 'red',
                    },
                  },
                ],
              },
            ],
          },
          options: {
            legend: {
              displayMode: 'table',
              placement: 'right',
              showLegend: true,
              calcs: [
                'lastNotNull',
                'max',
              ],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
        },
        {
          id: 8,
          type: 'timeseries',
          title: 'Average seconds per call by menu option',
          description: "Seconds spent in each option of each routing point per call through it, from the counters wolkvox_ivr_time_seconds_total and wolkvox_ivr_calls_total. The counters move once per poll of the exporter (every 5m by default), so the panel's minimum interval is 5m; lower it if you poll more often.",
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 0,
            y: 22,
            w: 12,
            h: 9,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: named('sum by (operation, rp_id, cod_opc_menu) (rate(wolkvox_ivr_time_seconds_total{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id", cod_opc_menu=~"$cod_opc_menu"}[$__rate_interval]))\n/\n(sum by (operation, rp_id, cod_opc_menu) (rate(wolkvox_ivr_calls_total{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id", cod_opc_menu=~"$cod_opc_menu"}[$__rate_interval])) > 0)'),
              legendFormat: '{{rp_name}}: {{option_name}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 's',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 10,
                showPoints: 'never',
                spanNulls: false,
              },
              min: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'table',
              placement: 'right',
              showLegend: true,
              calcs: [
                'lastNotNull',
                'max',
              ],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          interval: '5m',
        },
        {
          id: 9,
          type: 'timeseries',
          title: 'Calls per minute by routing point',
          description: "Calls per minute per routing point, from the counter wolkvox_ivr_calls_total. The counters move once per poll of the exporter (every 5m by default), so the panel's minimum interval is 5m; lower it if you poll more often.",
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 12,
            y: 22,
            w: 12,
            h: 9,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: withRpName('sum by (operation, rp_id) (rate(wolkvox_ivr_calls_total{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id", cod_opc_menu=~"$cod_opc_menu"}[$__rate_interval])) * 60', 'operation, rp_id'),
              legendFormat: '{{rp_name}} ({{operation}})',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 10,
                showPoints: 'never',
                spanNulls: false,
              },
              min: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'table',
              placement: 'right',
              showLegend: true,
              calcs: [
                'lastNotNull',
                'max',
              ],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          interval: '5m',
        },
        {
          id: 11,
          type: 'table',
          title: 'Report: calls and time by routing point and menu option',
          description: "The exporter's copy of Wolkvox's report \"Llamadas y minutos de IVR x Opc de menu\" (diagram_1_3) for the report window: one row per routing point and menu option, with its calls, the time spent in it and the average per call.",
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 0,
            y: 31,
            w: 24,
            h: 12,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum by (operation, rp_id, cod_opc_menu) (wolkvox_ivr_menu_calls{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id", cod_opc_menu=~"$cod_opc_menu"})',
              legendFormat: '',
              range: false,
              instant: true,
              editorMode: 'code',
              format: 'table',
            },
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'B',
              expr: 'sum by (operation, rp_id, cod_opc_menu) (wolkvox_ivr_menu_time_seconds{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id", cod_opc_menu=~"$cod_opc_menu"})',
              legendFormat: '',
              range: false,
              instant: true,
              editorMode: 'code',
              format: 'table',
            },
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'C',
              expr: 'sum by (operation, rp_id, cod_opc_menu) (wolkvox_ivr_menu_time_seconds{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id", cod_opc_menu=~"$cod_opc_menu"})\n/\n(sum by (operation, rp_id, cod_opc_menu) (wolkvox_ivr_menu_calls{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id", cod_opc_menu=~"$cod_opc_menu"}) > 0)',
              legendFormat: '',
              range: false,
              instant: true,
              editorMode: 'code',
              format: 'table',
            },
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'D',
              // The names of each row as labels (its value, the calls, is left out below).
              expr: 'sum by (operation, rp_id, cod_opc_menu) (wolkvox_ivr_menu_calls{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id", cod_opc_menu=~"$cod_opc_menu"}) * 0\n+ on(operation, rp_id, cod_opc_menu) group_left(rp_name, option_name, category)\n' + named('sum by (operation, rp_id, cod_opc_menu) (wolkvox_ivr_menu_calls{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id", cod_opc_menu=~"$cod_opc_menu"})'),
              legendFormat: '',
              range: false,
              instant: true,
              editorMode: 'code',
              format: 'table',
            },
          ],
          fieldConfig: {
            // The calls; the overrides give the time columns theirs.
            defaults: {
              unit: 'short',
            },
            overrides: [
              {
                matcher: {
                  id: 'byName',
                  options: 'Time in option',
                },
                properties: [
                  {
                    id: 'unit',
                    value: 'dtdurations',
                  },
                ],
              },
              {
                matcher: {
                  id: 'byName',
                  options: 'Seconds per call',
                },
                properties: [
                  {
                    id: 'unit',
                    value: 's',
                  },
                  {
                    id: 'decimals',
                    value: 1,
                  },
                ],
              },
            ],
          },
          options: {
            showHeader: true,
            cellHeight: 'sm',
            footer: {
              show: true,
              reducer: [
                'sum',
              ],
              fields: [
                'Calls',
                'Time in option',
              ],
              countRows: false,
            },
            sortBy: [
              {
                displayName: 'Routing point (rp_id)',
                desc: false,
              },
            ],
          },
          transformations: [
            {
              id: 'merge',
              options: {},
            },
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                  'Value #D': true,
                },
                indexByName: {
                  operation: 0,
                  rp_name: 1,
                  rp_id: 2,
                  option_name: 3,
                  cod_opc_menu: 4,
                  category: 5,
                  'Value #A': 6,
                  'Value #B': 7,
                  'Value #C': 8,
                },
                renameByName: {
                  operation: 'Operation',
                  rp_name: 'Routing point',
                  rp_id: 'Routing point (rp_id)',
                  option_name: 'Menu option',
                  cod_opc_menu: 'Menu option (cod_opc_menu)',
                  category: 'Category',
                  'Value #A': 'Calls',
                  'Value #B': 'Time in option',
                  'Value #C': 'Seconds per call',
                },
              },
            },
          ],
        },
        {
          id: 12,
          type: 'bargauge',
          title: 'Calls by category per routing point in the report window',
          description: 'Calls per category of menu option (self_service, agent, pulse, other: from the names file; PULSE is pulse and options without a category other) of each routing point in the report window.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 0,
            y: 43,
            w: 12,
            h: 9,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sort_desc(' + categoryCalls + ')',
              legendFormat: '{{rp_name}}: {{category}}',
              range: false,
              instant: true,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              min: 0,
              color: {
                mode: 'continuous-BlPu',
              },
            },
            overrides: [],
          },
          options: {
            orientation: 'horizontal',
            displayMode: 'gradient',
            showUnfilled: true,
            reduceOptions: {
              calcs: [
                'lastNotNull',
              ],
              fields: '',
              values: false,
            },
            valueMode: 'color',
            namePlacement: 'left',
            sizing: 'auto',
          },
        },
        {
          id: 13,
          type: 'bargauge',
          title: 'Share of calls by category per routing point',
          description: 'The share of each category in the calls of its routing point in the report window (PULSE counted among them).',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 12,
            y: 43,
            w: 12,
            h: 9,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: categoryCalls + '\n/ on(operation, rp_id) group_left()\n(sum by (operation, rp_id) (wolkvox_ivr_menu_calls{job=~"$job", instance=~"$instance", operation=~"$operation", rp_id=~"$rp_id", cod_opc_menu=~"$cod_opc_menu"}) > 0)',
              legendFormat: '{{rp_name}}: {{category}}',
              range: false,
              instant: true,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'percentunit',
              min: 0,
              max: 1,
              color: {
                mode: 'continuous-BlPu',
              },
            },
            overrides: [],
          },
          options: {
            orientation: 'horizontal',
            displayMode: 'gradient',
            showUnfilled: true,
            reduceOptions: {
              calcs: [
                'lastNotNull',
              ],
              fields: '',
              values: false,
            },
            valueMode: 'color',
            namePlacement: 'left',
            sizing: 'auto',
          },
        },
      ],
    },
  },
}
