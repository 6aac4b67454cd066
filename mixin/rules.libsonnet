// Recording rules, named level:metric:operation with their window: level `wolkvox` keeps every
// label of the exporter's series, `wolkvox_rp` sums the menu options of a routing point away.
// All aggregate with `without`, so job, instance and any target labels of yours stay on.
local u = import 'lib/utils.libsonnet';

{
  // The names of the recording rules, for the alerts and dashboards of this mixin.
  _records:: {
    local c = $._config,
    optionCalls: 'wolkvox:ivr_calls:increase%s' % c.pulseWindow,
    rpCalls: 'wolkvox_rp:ivr_calls:increase%s' % c.pulseWindow,
    pulseShare: 'wolkvox_rp:ivr_pulse_share:ratio%s' % c.pulseWindow,
    pulseBaseline: 'wolkvox_rp:ivr_pulse_share:ratio%s_offset%s' % [c.pulseBaseline, c.pulseWindow],
    pulseThreshold: 'wolkvox_rp:ivr_pulse_share_threshold:ratio%s' % c.pulseWindow,
    rpCallsWeekAgo: 'wolkvox_rp:ivr_calls:increase%s_offset1w' % c.outageBaseline,
    rpRateWeekAgo: 'wolkvox_rp:ivr_calls:rate%s_offset1w' % c.outageBaseline,
    rpCallsPolls: 'wolkvox_rp:ivr_calls:polls',
    pulseCallsPolls: 'wolkvox_rp:ivr_pulse_calls:polls',
    pulseEvidencePolls: 'wolkvox_rp:ivr_pulse_evidence:polls',
    pulseEvidence: 'wolkvox_rp:ivr_pulse_evidence:max',
  },

  // seconds as a PromQL duration: 10m rather than 600s where it can.
  local duration(seconds) = if seconds % 60 == 0 then '%dm' % (seconds / 60) else '%ds' % seconds,

  // Label matchers: the exporter's selector and `extra`, either of which may be empty.
  _selector(extra=''):: '{%s}' % std.join(', ', [m for m in [$._config.exporterSelector, extra] if m != '']),

  prometheusRules+:: {
    local c = $._config,
    local r = $._records,
    local calls = 'wolkvox_ivr_calls_total',
    groups+: [
      {
        name: 'wolkvox-ivr.rules',
        rules: [
          {
            record: r.optionCalls,
            expr: 'increase(%s%s[%s])' % [calls, $._selector(), c.pulseWindow],
          },
          {
            record: r.rpCalls,
            expr: 'sum without (cod_opc_menu) (%s)' % r.optionCalls,
          },
          {
            record: r.pulseShare,
            expr: std.rstripChars(|||
              sum without (cod_opc_menu) (%(calls)s{cod_opc_menu="PULSE"})
              /
              (%(rp)s > 0)
            ||| % { calls: r.optionCalls, rp: r.rpCalls }, '\n'),
          },
          {
            record: r.pulseBaseline,
            expr: std.rstripChars(|||
              sum without (cod_opc_menu) (increase(%(calls)s%(pulse)s[%(b)s] offset %(w)s))
              /
              (sum without (cod_opc_menu) (increase(%(calls)s%(all)s[%(b)s] offset %(w)s)) > 0)
            ||| % {
              calls: calls,
              pulse: $._selector('cod_opc_menu="PULSE"'),
              all: $._selector(),
              b: c.pulseBaseline,
              w: c.pulseWindow,
            }, '\n'),
          },
          {
            // The share above which the alert fires: a one-sided binomial test of the PULSE calls
            // of the window against the baseline share b, whose margin narrows as the calls n
            // grow. The baseline share plus pulseZ standard deviations of the share of n calls,
            // plus the skewness term of Cornish-Fisher, (z^2 - 1)(1 - 2b) / 6n: without it the
            // normal approximation pages ten times too often at 20-50 calls, where the binomial
            // tail is heavier. At least pulseRatio times the baseline and at least pulseMinShare.
            record: r.pulseThreshold,
            expr: std.rstripChars(|||
              clamp_min(
                (
                  %(b)s
                  + %(z)s * sqrt(%(b)s * (1 - %(b)s) / (%(n)s > 0))
                  + (%(z)s ^ 2 - 1) / 6 * (1 - 2 * %(b)s) / %(n)s
                  > %(ratio)s * %(b)s
                )
                or %(ratio)s * %(b)s,
                %(min)s
              )
            ||| % {
              b: r.pulseBaseline,
              n: r.rpCalls,
              z: u.num(c.pulseZ),
              ratio: u.num(c.pulseRatio),
              min: u.num(c.pulseMinShare),
            }, '\n'),
          },
        ] + std.flattenArrays([
          // The calls, and the PULSE calls, of the last k polls, one series per k (label polls):
          // differences of the counters k poll intervals apart, which hold exactly k polls, where
          // increase() over a window holds one step more or less by the phase of the polls, and
          // extrapolates. A counter reset in the window (local midnight) drops that window.
          [
            {
              record: pair[0],
              expr: 'sum without (cod_opc_menu) (%(calls)s%(sel)s - %(calls)s%(sel)s offset %(k)s) >= 0' % {
                calls: calls,
                sel: pair[1],
                k: duration(k * c.pollIntervalSeconds),
              },
              labels: { polls: '%d' % k },
            }
            for pair in [[r.rpCallsPolls, $._selector()], [r.pulseCallsPolls, $._selector('cod_opc_menu="PULSE"')]]
          ]
          for k in std.range(1, c.pulsePolls)
        ]) + [
          // The evidence of a PULSE spike that started k polls ago: the log-likelihood ratio of
          // the calls of the last k polls between "PULSE calls come at pulseFactor F times their
          // rate" and "at their rate". With p PULSE calls of n and a baseline share b, the share
          // under a spike is F b / (1 + (F - 1) b), and the ratio reduces to
          // p ln F - n ln(1 + (F - 1) b). Each PULSE call adds ln F, each call costs a little.
          {
            record: r.pulseEvidencePolls,
            expr: std.rstripChars(|||
              %(lnF)s * %(pulse)s
              - %(calls)s * ignoring (polls) group_left ln(1 + %(f1)s * %(b)s)
            ||| % {
              // PromQL's ln() takes no number: ln F, written out.
              lnF: u.num(std.floor(std.log(c.pulseFactor) * 1e4 + 0.5) / 1e4),
              f1: u.num(c.pulseFactor - 1),
              pulse: r.pulseCallsPolls,
              calls: r.rpCallsPolls,
              b: r.pulseBaseline,
            }, '\n'),
          },
          // The evidence of a spike that started at any of the last pulsePolls polls: the
          // strongest of them, which is the CUSUM statistic limited to that many polls.
          {
            record: r.pulseEvidence,
            expr: 'max without (polls) (%s)' % r.pulseEvidencePolls,
          },
          // The outage's baseline: the calls of the outageBaseline up to the same time a week
          // before, the same hour of the same weekday, as a count (for the minimum) and a rate
          // (to compare with the last outageWindow). A baseline longer than the window is less
          // noisy: one window of a quiet week, by chance twice as busy as usual, made the next
          // week's normal traffic look like an outage. They read the raw counters, so backfilled
          // history serves at once.
          {
            record: r.rpCallsWeekAgo,
            expr: 'sum without (cod_opc_menu) (increase(%s%s[%s] offset 1w))' % [calls, $._selector(), c.outageBaseline],
          },
          {
            record: r.rpRateWeekAgo,
            expr: 'sum without (cod_opc_menu) (rate(%s%s[%s] offset 1w))' % [calls, $._selector(), c.outageBaseline],
          },
        ],
      },
    ],
  },
}
