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

    // WolkvoxIvrPulseSpike: the PULSE calls of a routing point over pulseWindow are more than
    // chance allows at its baseline share, the share over the pulseBaseline before: a one-sided
    // binomial test (wolkvox_rp:ivr_pulse_share_threshold, in rules.libsonnet). The share must be
    // above the baseline by pulseZ standard deviations of the share of that many calls, at least
    // pulseRatio times the baseline and at least pulseMinShare, with at least pulseMinCalls calls
    // in pulseWindow, for pulseFor. docs/alert-quality.md measured these on 30 simulated days.
    pulseWindow: '15m',
    // A day: shorter baselines, made of the quiet hours before a morning, are so noisy that the
    // morning paged for nothing.
    pulseBaseline: '1d',
    // 4.25 standard deviations: with 4 the window test alone paged four times at one routing
    // point of the burstier traffic in three simulated months, one more than the target allows.
    pulseZ: 4.25,
    // A small rise is no incident even when it is certain (a very busy routing point).
    pulseRatio: 1.5,
    // Where the baseline is 0 (or was never seen), one PULSE call would be significant.
    pulseMinShare: 0.15,
    pulseMinCalls: 20,
    // None: the counters move once a poll (5 minutes), so a `for` only adds latency.
    pulseFor: '0m',
    pulseSeverity: 'critical',
    // The second test of WolkvoxIvrPulseSpike, which uses what a window throws away: the evidence
    // that PULSE calls have been pulseFactor times their usual rate since some poll of the last
    // pulsePolls, the log-likelihood ratio of the calls counted since then (a CUSUM that looks
    // back pulsePolls polls; docs/alert-quality.md explains it). It fires above pulseEvidence: a
    // ratio of e^pulseEvidence between the two explanations. The windows are whole polls, so
    // each holds the same number of the counters' steps at every evaluation. Tuned with
    // scripts/alert-quality, at most one false alert per routing point in 30 days: a doubled rate
    // as the alternative caught more tripled spikes than 3 did (each call costs less, so a
    // spike's first, partly spiked poll adds up sooner); 5 polls reach back to a start that a
    // window straddles; e^8, where e^7 and e^7.5 paged four or five times at one routing point of
    // the burstier traffic in three months (docs/alert-quality.md has the seeds and the sums).
    pollIntervalSeconds: 300,  // the exporter's --poll.interval: its counters move once a poll
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
    outageRatio: 0.2,
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
