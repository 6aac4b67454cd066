// Grafana dashboard "Wolkvox exporter": the exporter's own health, its polls of the Wolkvox API
// by result, the age of its data, the report's rows and the token's budget.
{
  local c = $._config,
  local u = import '../lib/utils.libsonnet',

  grafanaDashboards+:: {
    'wolkvox-exporter.json': {
      uid: 'wolkvox-exporter',
      title: 'Wolkvox exporter',
      description: 'Health of wolkvox-exporter: scrapes, polls of the Wolkvox API by result, data age, rows.',
      tags: c.dashboardTags,
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
        ],
      },
      panels: [
        {
          id: 1,
          type: 'stat',
          title: 'Scrape target',
          description: "Prometheus' `up` of each exporter target of the selected jobs.",
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 0,
            y: 0,
            w: 4,
            h: 4,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'up{job=~"$job", instance=~"$instance"}',
              legendFormat: '{{instance}}',
              range: false,
              instant: true,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'red',
                    value: null,
                  },
                  {
                    color: 'green',
                    value: 1,
                  },
                ],
              },
              color: {
                mode: 'thresholds',
              },
              mappings: [
                {
                  type: 'value',
                  options: {
                    '0': {
                      text: 'DOWN',
                      color: 'red',
                      index: 0,
                    },
                    '1': {
                      text: 'UP',
                      color: 'green',
                      index: 1,
                    },
                  },
                },
              ],
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
          title: 'Polls',
          description: 'wolkvox_up: 1 when the last poll of the operation got a report (an answer of no data counts).',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 4,
            y: 0,
            w: 4,
            h: 4,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'wolkvox_up{job=~"$job", instance=~"$instance", operation=~"$operation"}',
              legendFormat: '{{operation}}',
              range: false,
              instant: true,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'red',
                    value: null,
                  },
                  {
                    color: 'green',
                    value: 1,
                  },
                ],
              },
              color: {
                mode: 'thresholds',
              },
              mappings: [
                {
                  type: 'value',
                  options: {
                    '0': {
                      text: 'FAILING',
                      color: 'red',
                      index: 0,
                    },
                    '1': {
                      text: 'OK',
                      color: 'green',
                      index: 1,
                    },
                  },
                },
              ],
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
          title: 'Last success age',
          description: 'Time since the last poll that got a report. WolkvoxDataStale fires above %s s.' % u.num(c.staleAfterSeconds),
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 8,
            y: 0,
            w: 4,
            h: 4,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'time() - wolkvox_last_success_timestamp_seconds{job=~"$job", instance=~"$instance", operation=~"$operation"}',
              legendFormat: '{{operation}}',
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
                  {
                    color: 'orange',
                    value: c.staleAfterSeconds / 2,
                  },
                  {
                    color: 'red',
                    value: c.staleAfterSeconds,
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
          id: 4,
          type: 'stat',
          title: 'Next poll in',
          description: 'Time until the next poll is due: long after quota or error backoffs.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 12,
            y: 0,
            w: 4,
            h: 4,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'wolkvox_next_poll_timestamp_seconds{job=~"$job", instance=~"$instance", operation=~"$operation"} - time()',
              legendFormat: '{{operation}}',
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
          id: 5,
          type: 'stat',
          title: 'Report rows',
          description: 'Rows in the last report that the data series show.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 16,
            y: 0,
            w: 4,
            h: 4,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'wolkvox_report_rows{job=~"$job", instance=~"$instance", operation=~"$operation"}',
              legendFormat: '{{operation}}',
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
          id: 6,
          type: 'stat',
          title: 'Exporter version',
          description: 'wolkvox_exporter_build_info of each target.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 20,
            y: 0,
            w: 4,
            h: 4,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'wolkvox_exporter_build_info{job=~"$job", instance=~"$instance"}',
              legendFormat: '{{version}} ({{os}}/{{arch}})',
              range: false,
              instant: true,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              // The panel shows the series' name (textMode name); the value, always 1, is no quantity.
              unit: 'none',
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
            textMode: 'name',
            orientation: 'auto',
          },
        },
        {
          id: 7,
          type: 'timeseries',
          title: 'Polls by result',
          description: "Polls of the Wolkvox report API per result (results with no polls are hidden). Anything but success and no_data is a failure; quota_exceeded means the token's daily budget is used up, not_found a URL that does not reach Wolkvox's report API. Polls happen every 5m by default, hence the panel's minimum interval of 5m.",
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 0,
            y: 4,
            w: 12,
            h: 8,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum by (operation, result) (increase(wolkvox_polls_total{job=~"$job", instance=~"$instance", operation=~"$operation"}[$__rate_interval])) > 0',
              legendFormat: '{{operation}} {{result}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'bars',
                lineWidth: 1,
                fillOpacity: 80,
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
          id: 8,
          type: 'timeseries',
          title: 'Poll duration',
          description: 'Duration of the last poll (a gauge, shown as is).',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 12,
            y: 4,
            w: 12,
            h: 8,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'wolkvox_poll_duration_seconds{job=~"$job", instance=~"$instance", operation=~"$operation"}',
              legendFormat: '{{operation}}',
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
        },
        {
          id: 9,
          type: 'timeseries',
          title: 'Last success age',
          description: 'Time since the last poll that got a report.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 0,
            y: 12,
            w: 12,
            h: 8,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'time() - wolkvox_last_success_timestamp_seconds{job=~"$job", instance=~"$instance", operation=~"$operation"}',
              legendFormat: '{{operation}}',
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
        },
        {
          id: 10,
          type: 'timeseries',
          title: 'Report rows',
          description: 'Rows in the last report.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 12,
            y: 12,
            w: 12,
            h: 8,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'wolkvox_report_rows{job=~"$job", instance=~"$instance", operation=~"$operation"}',
              legendFormat: '{{operation}}',
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
        },
        {
          id: 11,
          type: 'timeseries',
          title: 'Rejected rows by reason',
          description: "Report rows skipped because a value could not be read; non-zero means the report's format changed (WolkvoxRowsRejected).",
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 0,
            y: 20,
            w: 12,
            h: 8,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum by (operation, reason) (increase(wolkvox_rows_rejected_total{job=~"$job", instance=~"$instance", operation=~"$operation"}[$__rate_interval]))',
              legendFormat: '{{operation}} {{reason}}',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'bars',
                lineWidth: 1,
                fillOpacity: 80,
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
          id: 12,
          type: 'timeseries',
          title: 'Report window',
          description: 'Start and end of the window that the data series describe.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 12,
            y: 20,
            w: 12,
            h: 8,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'wolkvox_report_window_start_timestamp_seconds{job=~"$job", instance=~"$instance", operation=~"$operation"} * 1000',
              legendFormat: '{{operation}} start',
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
              expr: 'wolkvox_report_window_end_timestamp_seconds{job=~"$job", instance=~"$instance", operation=~"$operation"} * 1000',
              legendFormat: '{{operation}} end',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'dateTimeAsIso',
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 10,
                showPoints: 'never',
                spanNulls: false,
              },
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
        },
        {
          id: 13,
          type: 'timeseries',
          title: 'Token budget today',
          description: "Calls this exporter made today (local day of the operation), next to what the token's owner has spent today and the token's daily limit, both from Wolkvox's token_info (only with --wolkvox.token-info-interval). The budget is licences x 1000 calls a day, shared by everything that uses the token; when it is used up, polls fail with quota_exceeded and the exporter makes no call until the next local day: the line 'quota used up' (wolkvox_quota_exhausted) marks that wait.",
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 0,
            y: 28,
            w: 12,
            h: 8,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'wolkvox_api_requests_today{job=~"$job", instance=~"$instance", operation=~"$operation"}',
              legendFormat: '{{operation}} calls by this exporter',
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
              expr: 'wolkvox_token_used_today{job=~"$job", instance=~"$instance", operation=~"$operation"}',
              legendFormat: '{{operation}} calls with the token',
              range: true,
              instant: false,
              editorMode: 'code',
            },
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'C',
              expr: 'wolkvox_token_limit{job=~"$job", instance=~"$instance", operation=~"$operation"}',
              legendFormat: '{{operation}} daily limit',
              range: true,
              instant: false,
              editorMode: 'code',
            },
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'D',
              // 0 while calls are allowed; the day's calls while the quota is used up (no call until the reset).
              expr: 'wolkvox_quota_exhausted{job=~"$job", instance=~"$instance", operation=~"$operation"} * on (job, instance, operation) wolkvox_api_requests_today{job=~"$job", instance=~"$instance", operation=~"$operation"}',
              legendFormat: '{{operation}} quota used up (0 while calls are allowed)',
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
        },
        {
          id: 14,
          type: 'timeseries',
          title: 'API calls and dropped series',
          description: 'API calls this exporter made (reports and token_info), and series pairs dropped because a report held more than --report.max-series.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 12,
            y: 28,
            w: 12,
            h: 8,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'sum by (operation) (increase(wolkvox_api_requests_total{job=~"$job", instance=~"$instance", operation=~"$operation"}[$__rate_interval]))',
              legendFormat: '{{operation}} API calls',
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
              expr: 'sum by (operation) (increase(wolkvox_series_dropped_total{job=~"$job", instance=~"$instance", operation=~"$operation"}[$__rate_interval]))',
              legendFormat: '{{operation}} series dropped',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'short',
              custom: {
                drawStyle: 'bars',
                lineWidth: 1,
                fillOpacity: 80,
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
          id: 15,
          type: 'timeseries',
          title: 'CPU',
          description: 'CPU time the exporter process uses per second (1 is one core), from process_cpu_seconds_total.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 0,
            y: 36,
            w: 6,
            h: 8,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'rate(process_cpu_seconds_total{job=~"$job", instance=~"$instance"}[$__rate_interval])',
              legendFormat: '{{instance}}',
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
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
        },
        {
          id: 16,
          type: 'timeseries',
          title: 'Memory',
          description: 'Resident and virtual memory of the exporter process. Resident memory should stay flat across polls.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 6,
            y: 36,
            w: 6,
            h: 8,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'process_resident_memory_bytes{job=~"$job", instance=~"$instance"}',
              legendFormat: '{{instance}} resident',
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
              expr: 'process_virtual_memory_bytes{job=~"$job", instance=~"$instance"}',
              legendFormat: '{{instance}} virtual',
              range: true,
              instant: false,
              editorMode: 'code',
            },
          ],
          fieldConfig: {
            defaults: {
              unit: 'bytes',
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
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
        },
        {
          id: 17,
          type: 'timeseries',
          title: 'File descriptors',
          description: 'Open file descriptors of the exporter process against its limit: each scrape connection holds one.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 12,
            y: 36,
            w: 6,
            h: 8,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'process_open_fds{job=~"$job", instance=~"$instance"}',
              legendFormat: '{{instance}} open',
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
              expr: 'process_max_fds{job=~"$job", instance=~"$instance"}',
              legendFormat: '{{instance}} limit',
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
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
        },
        {
          id: 18,
          type: 'timeseries',
          title: 'Uptime',
          description: 'Time since the exporter process started: a drop is a restart.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 18,
            y: 36,
            w: 6,
            h: 8,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'time() - process_start_time_seconds{job=~"$job", instance=~"$instance"}',
              legendFormat: '{{instance}}',
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
              displayMode: 'list',
              placement: 'bottom',
              showLegend: true,
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
        },
        {
          id: 19,
          type: 'timeseries',
          title: 'Poll interval in force',
          description: "The interval between polls in force: --poll.interval, or longer where --poll.budget-share keeps the operation within its share of the token's daily limit until local midnight.",
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 0,
            y: 44,
            w: 12,
            h: 8,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'wolkvox_poll_effective_interval_seconds{job=~"$job", instance=~"$instance", operation=~"$operation"}',
              legendFormat: '{{operation}}',
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
        },
        {
          id: 20,
          type: 'timeseries',
          title: 'Late calls at day close',
          description: 'Calls that the closing call of the previous day found beyond the counters published before it, --report.close-delay after local midnight: rows Wolkvox added late. Often above zero: rows may also come after the close, raise the delay. 0 until a day has been closed.',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          gridPos: {
            x: 12,
            y: 44,
            w: 12,
            h: 8,
          },
          targets: [
            {
              datasource: {
                type: 'prometheus',
                uid: '${datasource}',
              },
              refId: 'A',
              expr: 'wolkvox_day_close_late_calls{job=~"$job", instance=~"$instance", operation=~"$operation"} or on (job, instance, operation) 0 * wolkvox_up{job=~"$job", instance=~"$instance", operation=~"$operation"}',
              legendFormat: '{{operation}}',
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
        },
      ],
    },
  },
}
