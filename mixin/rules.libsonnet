// Recording rules, named level:metric:operation with their window: level `wolkvox` keeps every
// label of the exporter's series, `wolkvox_rp` sums the menu options of a routing point away.
// All aggregate with `without`, so job, instance and any target labels of yours stay on.
local u = import 'lib/utils.libsonnet';

{
  // The names of the recording rules, for the alerts and dashboards of this mixin.
  _records:: {
    local c = $._config,
    rpCallsPolls: 'wolkvox_rp:ivr_calls:polls',
    pulseCallsPolls: 'wolkvox_rp:ivr_pulse_calls:polls',
    pulseShare: 'wolkvox_rp:ivr_pulse_share:ratio%s' % c.pulseWindow,
    pulseBaseline: 'wolkvox_rp:ivr_pulse_share:ratio%s_offset%s' % [c.pulseBaseline, c.pulseWindow],
    pulseThreshold: 'wolkvox_rp:ivr_pulse_share_threshold:ratio%s' % c.pulseWindow,
    rpCallsWeekAgo: 'wolkvox_rp:ivr_calls:increase%s_offset1w' % c.outageBaseline,
    rpRateWeekAgo: 'wolkvox_rp:ivr_calls:rate%s_offset1w' % c.outageBaseline,
  },

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
          // The calls, and the PULSE calls, of the last pulseWindow: differences of the counters
          // that far apart. With a window of whole polls they hold exactly that many polls (three
          // steps of the counters at 15m), where increase() over the window holds one step more or
          // less by the phase of the polls, and extrapolates. A counter reset in the window
          // (local midnight) drops that window.
          {
            record: pair[0],
            expr: 'sum without (cod_opc_menu) (%(calls)s%(sel)s - %(calls)s%(sel)s offset %(w)s) >= 0' % {
              calls: calls,
              sel: pair[1],
              w: c.pulseWindow,
            },
          }
          for pair in [[r.rpCallsPolls, $._selector()], [r.pulseCallsPolls, $._selector('cod_opc_menu="PULSE"')]]
        ] + [
          {
            record: r.pulseShare,
            expr: '%s\n/\n(%s > 0)' % [r.pulseCallsPolls, r.rpCallsPolls],
          },
          // The share of the pulseBaseline before the window (config.libsonnet says why 3 days),
          // which ends where the window starts, so that a spike is not part of its own baseline.
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
              n: r.rpCallsPolls,
              z: u.num(c.pulseZ),
              ratio: u.num(c.pulseRatio),
              min: u.num(c.pulseMinShare),
            }, '\n'),
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
