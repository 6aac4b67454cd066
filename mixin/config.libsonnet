// The parameters of the mixin: everything a user may change, in one place. Override them with
// `(import 'mixin.libsonnet') + { _config+:: { pulseRatio: 4 } }`. Durations are Prometheus
// durations ('15m'); shares are between 0 and 1. A name that is not one of these stops the rendering
// with an error that names it. The Helm chart exposes the same names under prometheusRule.config
// (helm/wolkvox-exporter/values.yaml).
{
  _config+:: {
    // Label matchers of every series the exporter is scraped with: its scrape job. Every rule and
    // alert selects with them, and WolkvoxExporterAbsent fires when no `up` series matches.
    exporterSelector: 'job="wolkvox-exporter"',

    // WolkvoxIvrPulseSpike: the PULSE calls of a routing point over the last pulseWindow are more
    // than chance allows at its baseline share, the share over the pulseBaseline before: a
    // one-sided binomial test (wolkvox_rp:ivr_pulse_share_threshold, in rules.libsonnet). The share
    // must be above the baseline by pulseZ standard deviations of the share of that many calls, at
    // least pulseRatio times the baseline and at least pulseMinShare, with at least pulseMinCalls
    // calls in pulseWindow, for pulseFor. docs/alert-quality.md measured these on 30 simulated
    // days of sixty seeds of two traffic models, and chose them on twenty.
    // Three polls (a whole number of pollIntervalSeconds: the counters move once a poll, and the
    // window takes their difference pulseWindow apart, which then holds that many polls exactly).
    // Twenty minutes after a spike starts, a query sees 15 to 19 minutes of it.
    pulseWindow: '15m',
    // Three days: a day's share rests on few calls after a quiet day (a Monday's on its Sunday),
    // and its error moved the threshold as much as chance does; shorter baselines, made of the
    // quiet hours before a morning, are noisier still.
    pulseBaseline: '3d',
    // 3.5 standard deviations: at most 5 false alerts at one routing point in five simulated
    // months in 23 of 24 sets of five seeds (the target allows 5); 3.4 paged 6 times in two of
    // the eight it was chosen on.
    pulseZ: 3.5,
    // A rise to less than double is no incident even when it is certain (a very busy routing
    // point); a tripled PULSE rate takes a share of 10% to 25%.
    pulseRatio: 2,
    // Where the baseline is 0 (or was never seen), one PULSE call would be significant.
    pulseMinShare: 0.15,
    // Below 40 calls in the window the binomial tail is coarse and chance paged more; a spike at
    // so few calls is out of reach of any test at these polls anyway.
    pulseMinCalls: 40,
    // None: the counters move once a poll (5 minutes), so a `for` only adds latency.
    pulseFor: '0m',
    pulseSeverity: 'critical',
    pollIntervalSeconds: 300,  // the exporter's --poll.interval: its counters move once a poll
    // No longer used: WolkvoxIvrPulseSpike's second test, the evidence accumulated over the last
    // pulsePolls polls, caught fewer spikes than the window of whole polls at the same false
    // alerts. Kept so that configurations that set them stay valid.
    pulsePolls: 5,
    pulseFactor: 2,
    pulseEvidence: 8,

    // WolkvoxIvrRoutingPointOutage: a routing point got fewer than outageRatio times its calls of
    // the same time a week before, when it had at least outageMinCalls in the outageBaseline up
    // to that time, for outageFor. Silent while polls fail, and for outageMidnightGraceSeconds
    // after local midnight, while the counters hold the previous day until it is closed
    // (--report.close-delay plus one poll interval).
    // Three polls and a scrape interval: the window always holds three steps of the counters
    // (15 minutes of calls), never two, so the rate neither halves nor flickers from one
    // evaluation to the next.
    outageWindow: '16m',
    // The rate of a week before over an hour rather than over the window: one window of a quiet
    // week, twice as busy as usual by chance, made the next week's normal traffic an outage.
    outageBaseline: '1h',
    // A tenth: with a fifth, a quarter-hour of few calls by chance in the evening, on a day 30%
    // quieter than the same day a week before, paged up to 13 times at one routing point in five
    // simulated months of the burstier traffic; an outage leaves the window empty either way.
    outageRatio: 0.1,
    // 72 in the hour: 18 calls expected in the window, and fewer than 4 of them by chance in
    // about 2e-5 of the windows.
    outageMinCalls: 72,
    // None: the window holds 15 minutes without a call when it fires, and a `for` would push
    // outages past 20 minutes.
    outageFor: '0m',
    outageMidnightGraceSeconds: 1800,
    outageSeverity: 'critical',

    // WolkvoxIvrMenuOptionSilent and WolkvoxIvrMenuOptionSurge (menu.libsonnet): per option other
    // than PULSE, the evidence of the calls of the last menuPolls polls against the option's share
    // of the menuBaseline before them, as WolkvoxIvrPulseSpike's evidence. Silent: none of the n
    // calls chose the option, whose chance at a share b is (1 - b)^n; fires when n ln(1 / (1 - b))
    // is above menuSilentEvidence. Surge: the option's calls came at menuSurgeFactor times their
    // rate, fires above menuSurgeEvidence. docs/alert-quality.md measured them on five seeds of
    // both traffic models.
    // 5 polls: a silent option of 15% at a medium routing point needs about 60 calls without it.
    menuPolls: 5,
    // A day, as PULSE's: the shares of a few quiet hours are too noisy.
    menuBaseline: '1d',
    // A tripled rate as the alternative: with 2, every threshold that met the false-alert target
    // caught fewer tripled options.
    menuSurgeFactor: 3,
    // A chance of e^-10 of no call at the usual share: at most 3 false alerts at one routing
    // point in five simulated months (9 gave 5, at the edge of the target).
    menuSilentEvidence: 10,
    // e^10: at most 1 false alert at one routing point in five simulated months (9 gave 4).
    menuSurgeEvidence: 10,
    menuSeverity: 'critical',

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
