// The parameters of the mixin: everything a user may change, in one place. Override them with
// `(import 'mixin.libsonnet') + { _config+:: { pulseRatio: 4 } }`. Durations are Prometheus
// durations ('15m'); shares are between 0 and 1. The Helm chart exposes the same names under
// prometheusRule.config (helm/wolkvox-exporter/values.yaml).
{
  _config+:: {
    // Label matchers of every series the exporter is scraped with: its scrape job. Every rule and
    // alert selects with them, and WolkvoxExporterAbsent fires when no `up` series matches.
    exporterSelector: 'job="wolkvox-exporter"',

    // WolkvoxIvrPulseSpike: the PULSE share of a routing point over pulseWindow is more than
    // pulseRatio times its share over the pulseBaseline before, and above pulseMinShare, with at
    // least pulseMinCalls calls in pulseWindow, for pulseFor.
    pulseWindow: '15m',
    pulseBaseline: '3h',
    pulseRatio: 2,
    pulseMinShare: 0.21,
    pulseMinCalls: 40,
    pulseFor: '6m',
    pulseSeverity: 'critical',

    // WolkvoxIvrRoutingPointOutage: a routing point got fewer than outageRatio times the calls of
    // the same outageWindow a week before, when it had at least outageMinCalls then, for
    // outageFor. Silent while polls fail, and for outageMidnightGraceSeconds after local midnight,
    // while the counters hold the previous day until it is closed (--report.close-delay plus one
    // poll interval). outageWindow must be longer than the poll interval.
    outageWindow: '10m',
    outageRatio: 0.2,
    outageMinCalls: 12,
    outageFor: '4m',
    outageMidnightGraceSeconds: 1800,
    outageSeverity: 'critical',

    // WolkvoxExporterDown: the target is down (up == 0) for this long.
    exporterDownFor: '5m',
    // WolkvoxExporterAbsent: service discovery has no target of the exporter for this long.
    exporterAbsentFor: '10m',
    // WolkvoxPollsFailing: wolkvox_up is 0 for this long.
    pollsFailingFor: '15m',
    // WolkvoxDataStale: the last successful poll is older than this many seconds, for staleFor.
    staleAfterSeconds: 1800,
    staleFor: '5m',
    // No longer used: WolkvoxTokenQuotaExceeded follows wolkvox_quota_exhausted. Kept so that
    // configurations that set it stay valid.
    quotaWindow: '1h',
    rejectedWindow: '1h',
    // WolkvoxTokenBudgetLow: the token has used more than this share of its daily limit, for budgetFor.
    budgetRatio: 0.9,
    budgetFor: '5m',
    // WolkvoxConfigReloadFailed: the exporter refused a changed --config.file for this long.
    configReloadFailedFor: '5m',

    // Where each alert's runbook_url points: %s is the alert's name in lower case, which is the
    // anchor of its section in docs/runbook.md. Point it at the copy of the repository you read.
    runbookURLPattern: 'https://git.example.com/wolkvox-exporter/blob/main/docs/runbook.md#%s',

    // Grafana: tags of both dashboards (they link to each other by the first) and their refresh.
    dashboardTags: ['wolkvox', 'wolkvox-exporter'],
    dashboardRefresh: '1m',
  },
}
