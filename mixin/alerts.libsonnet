// The alerts. Each names what it is about (the operation, the routing point or the target),
// says what to do, and links to its section of docs/runbook.md.
local u = import 'lib/utils.libsonnet';

{
  // Adds the runbook link of each alert: the pattern with the alert's name in lower case.
  local withRunbooks(rules) = [
    rule { annotations+: { runbook_url: $._config.runbookURLPattern % std.asciiLower(rule.alert) } }
    for rule in rules
  ],
  local c = $._config,
  local r = $._records,
  local sel = $._selector,
  // Sets $rp to the routing point as a person reads it: "<name> (<rp_id>)" where the names
  // give its info series a name, else its id. A query in the template, so that the alert's
  // labels, and with them its identity, stay as they are when a name changes.
  local rpName = '{{ $rp := $labels.rp_id }}{{ with printf "wolkvox_ivr_routing_point_info{job=%q, instance=%q, operation=%q, rp_id=%q}" $labels.job $labels.instance $labels.operation $labels.rp_id | query }}{{ $rp = printf "%s (%s)" (. | first | label "name") $labels.rp_id }}{{ end }}',
  // The same inside a text that is formatted with %.
  local rpNameF = std.strReplace(rpName, '%', '%%'),
  // The same for the alerts of menu.libsonnet.
  _rpNameTemplate:: rpName,

  prometheusAlerts+:: {
    groups+: [
      {
        name: 'wolkvox-ivr',
        rules: withRunbooks([
          {
            alert: 'WolkvoxIvrPulseSpike',
            // The share of the calls of the window above the threshold of the binomial test. The
            // alert's value is the share of the window.
            expr: std.rstripChars(|||
              %(share)s > %(threshold)s
              and %(calls)s >= %(min)s
            ||| % {
              share: r.pulseShare,
              threshold: r.pulseThreshold,
              calls: r.rpCallsPolls,
              min: u.num(c.pulseMinCalls),
            }, '\n'),
            'for': c.pulseFor,
            labels: { severity: c.pulseSeverity },
            annotations: {
              summary: rpName + 'PULSE share of IVR routing point {{ $rp }} in operation {{ $labels.operation }} is far above its baseline.',
              description: (
                rpNameF + '{{ $value | humanizePercentage }} of the calls of IVR routing point {{ $rp }} in '
                + 'Wolkvox operation {{ $labels.operation }} over the last %(w)s chose PULSE (the caller pressed '
                + 'nothing), more than chance explains at its share in the %(b)s before: by %(z)s standard '
                + 'deviations of the share of that many calls, more than %(ratio)s times that share and above '
                + '{{ %(share)s | humanizePercentage }}. '
                + 'Callers may not hear the menu, or their key presses may not be recognised: make a test call to '
                + 'the routing point, check its audio prompts and DTMF detection, and undo recent changes to its IVR '
                + 'flow.'
              ) % {
                w: c.pulseWindow,
                b: c.pulseBaseline,
                z: u.num(c.pulseZ),
                ratio: u.num(c.pulseRatio),
                share: u.num(c.pulseMinShare),
              },
            },
          },
          {
            alert: 'WolkvoxIvrRoutingPointOutage',
            // The rate of the window against the rate of a week before, both per minute: the
            // alert's value is the calls a minute. Frozen counters are no outage: not while polls
            // fail (wolkvox_up 0, the quota wait included), nor while the counters hold the
            // previous day after local midnight, nor when the window holds a single poll's
            // counters: after a gap in the samples longer than the window (the exporter or
            // Prometheus down, a lost target), the samples until the next poll all show one
            // value, which is not a rate of zero.
            expr: std.rstripChars(|||
              60 * sum without (cod_opc_menu) (rate(wolkvox_ivr_calls_total%(sel)s[%(w)s]))
                < %(ratio)s * 60 * %(rateWeekAgo)s
              and %(weekAgo)s >= %(min)s
              and on (job, instance, operation)
                sum without (result) (increase(wolkvox_polls_total%(polled)s[%(w)s])) > 0
              unless on (job, instance, operation) wolkvox_up%(sel)s == 0
              unless on (job, instance, operation)
                (time() - wolkvox_report_window_start_timestamp_seconds%(sel)s < %(grace)s)
            ||| % {
              sel: sel(),
              w: c.outageWindow,
              polled: sel('result=~"success|no_data"'),
              ratio: u.num(c.outageRatio),
              weekAgo: r.rpCallsWeekAgo,
              rateWeekAgo: r.rpRateWeekAgo,
              min: u.num(c.outageMinCalls),
              grace: u.num(c.outageMidnightGraceSeconds),
            }, '\n'),
            'for': c.outageFor,
            labels: { severity: c.outageSeverity },
            annotations: {
              summary: rpName + 'IVR routing point {{ $rp }} in operation {{ $labels.operation }} gets far fewer calls than a week ago.',
              description: (
                rpNameF + 'IVR routing point {{ $rp }} in Wolkvox operation {{ $labels.operation }} got '
                + '{{ printf "%%.1f" $value }} calls a minute over the last %(w)s, less than %(ratio)s times its rate '
                + 'in the %(b)s up to the same time a week before (%(min)s calls or more then). Callers may not '
                + 'reach it: make a test call to its number, check the trunk and the number routing in Wolkvox, '
                + 'and recent changes to the flow that leads to it.'
              ) % {
                w: c.outageWindow,
                b: c.outageBaseline,
                ratio: u.num(c.outageRatio),
                min: u.num(c.outageMinCalls),
              },
            },
          },
        ]),
      },
      {
        name: 'wolkvox-exporter',
        rules: withRunbooks([
          {
            alert: 'WolkvoxExporterDown',
            expr: 'up%s == 0' % sel(),
            'for': c.exporterDownFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Prometheus cannot scrape the Wolkvox exporter {{ $labels.instance }}.',
              description: (
                'The scrape target {{ $labels.instance }} of job {{ $labels.job }} has been down for more than '
                + '%s, so no Wolkvox operation or routing point it exports is monitored. '
                + 'Check that the exporter process or pod runs, read its logs, and check the network path and the '
                + 'scrape configuration.'
              ) % c.exporterDownFor,
            },
          },
          {
            alert: 'WolkvoxExporterAbsent',
            expr: 'absent(up%s)' % sel(),
            'for': c.exporterAbsentFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Prometheus has no scrape target for the Wolkvox exporter: up%s is absent.' % sel(),
              description: (
                'Service discovery has found no target matching up%s for more than %s, so nothing scrapes the '
                + 'exporter and none of its other alerts can fire. Check that the exporter is deployed, that its '
                + 'Service and ServiceMonitor (or scrape job) exist and select it, and that the job label of its '
                + 'series is the one the rules select.'
              ) % [sel(), c.exporterAbsentFor],
            },
          },
          {
            alert: 'WolkvoxPollsFailing',
            // Silent while the daily quota is used up: WolkvoxTokenQuotaExceeded says why, for as long.
            expr: 'wolkvox_up%s == 0 unless on (job, instance, operation) wolkvox_quota_exhausted%s == 1' % [sel(), sel()],
            'for': c.pollsFailingFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'The Wolkvox exporter gets no report for operation {{ $labels.operation }}.',
              description: (
                'Polls of the Wolkvox report for operation {{ $labels.operation }} have failed for more than '
                + '%s; the figures of all its routing points are not updated. Check the result '
                + "label of wolkvox_polls_total and the exporter's logs for why: unauthorized means the token is "
                + 'invalid or expired (renew it), quota_exceeded the daily token budget, maintenance a Wolkvox '
                + 'backup, network_error or timeout a blocked IP or a network problem, not_found a --wolkvox.url '
                + "that does not reach Wolkvox's report API."
              ) % c.pollsFailingFor,
            },
          },
          {
            alert: 'WolkvoxDataStale',
            expr: 'time() - wolkvox_last_success_timestamp_seconds%s > %s unless on (job, instance, operation) wolkvox_quota_exhausted%s == 1'
                  % [sel(), u.num(c.staleAfterSeconds), sel()],
            'for': c.staleFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Wolkvox data of operation {{ $labels.operation }} is stale.',
              description: (
                'The last successful poll of the Wolkvox report for operation {{ $labels.operation }} was '
                + '{{ $value | humanizeDuration }} ago (more than {{ %s | humanizeDuration }}), so the dashboards and '
                + 'the PULSE alert of its routing points show old data. '
                + "Check wolkvox_polls_total by result and the exporter's logs; when the exporter is down, "
                + 'WolkvoxExporterDown fires too.'
              ) % u.num(c.staleAfterSeconds),
            },
          },
          {
            alert: 'WolkvoxTokenQuotaExceeded',
            // A state, not an event: it fires for the whole wait and resolves when the exporter calls
            // again after the quota's reset at local midnight.
            expr: 'wolkvox_quota_exhausted%s == 1' % sel(),
            labels: { severity: 'warning' },
            annotations: {
              summary: 'The Wolkvox token of operation {{ $labels.operation }} has used up its daily quota.',
              description: (
                'Wolkvox refused the last poll for operation {{ $labels.operation }} with TOKEN LIMIT EXCEEDED. '
                + 'The exporter makes no call until the next local day, so the data of all its routing points '
                + 'stays stale until then, and WolkvoxPollsFailing and WolkvoxDataStale stay silent for that '
                + "operation meanwhile. Find what else spends the token's budget (licences x 1000 calls a day, "
                + 'shared by everything that uses the token), lengthen --poll.interval, or use a token of its own.'
              ),
            },
          },
          {
            alert: 'WolkvoxTokenBudgetLow',
            expr: 'wolkvox_token_used_today%s / (wolkvox_token_limit%s > 0) > %s' % [sel(), sel(), u.num(c.budgetRatio)],
            'for': c.budgetFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: (
                'The Wolkvox token of operation {{ $labels.operation }} has used '
                + '{{ $value | humanizePercentage }} of its daily limit.'
              ),
              description: (
                'token_info reports that the token of operation {{ $labels.operation }} has spent '
                + '{{ $value | humanizePercentage }} of its calls for today (more than '
                + '{{ %s | humanizePercentage }}). When it runs out, Wolkvox refuses every call until the next '
                + 'local day and the data goes stale. Find what else uses the token '
                + "(wolkvox_api_requests_today shows this exporter's own share), lengthen --poll.interval, or "
                + 'ask Wolkvox for more licences.'
              ) % u.num(c.budgetRatio),
            },
          },
          {
            alert: 'WolkvoxRowsRejected',
            expr: 'increase(wolkvox_rows_rejected_total%s[%s]) > 0' % [sel(), c.rejectedWindow],
            labels: { severity: 'warning' },
            annotations: {
              summary: 'The Wolkvox exporter skips report rows of operation {{ $labels.operation }}.',
              description: (
                '{{ printf "%%.0f" $value }} rows of the Wolkvox report of operation {{ $labels.operation }} were '
                + 'rejected as {{ $labels.reason }} in the last %s, so the figures of their '
                + "routing points are too low. The report's format may have changed: the exporter's warning logs "
                + 'show the rows; report them so the parser can be updated.'
              ) % c.rejectedWindow,
            },
          },
          {
            alert: 'WolkvoxConfigReloadFailed',
            expr: 'wolkvox_config_last_reload_successful%s == 0' % sel(),
            'for': c.configReloadFailedFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'The Wolkvox exporter {{ $labels.instance }} refused its changed --config.file.',
              description: (
                'The exporter {{ $labels.instance }} has refused to reload its --config.file for more than %s '
                + 'and still polls with the configuration it had before, so the operations, tokens or settings of '
                + "the change are not in effect. Check the exporter's error log for the reason, run "
                + '`wolkvox-exporter check --config.file FILE` on the file, and fix it; the exporter applies the '
                + 'file as soon as it is valid.'
              ) % c.configReloadFailedFor,
            },
          },
        ]),
      },
    ],
  },
}
