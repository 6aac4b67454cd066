// The menu options of a routing point: an option that stops being chosen (a branch that no longer
// answers or is no longer offered) or suddenly takes far more calls than it does. Recording rules
// and the two alerts, WolkvoxIvrMenuOptionSilent and WolkvoxIvrMenuOptionSurge, one per option
// other than PULSE, which WolkvoxIvrPulseSpike watches. docs/alert-quality.md measured them.
local u = import 'lib/utils.libsonnet';

{
  _records+:: {
    local c = $._config,
    optionCallsPolls: 'wolkvox:ivr_calls:polls',
    menuBaseline: 'wolkvox:ivr_menu_share:ratio%s_offset%s' % [c.menuBaseline, $._menuOffset],
    menuSilentPolls: 'wolkvox:ivr_menu_silent_evidence:polls',
    menuSilent: 'wolkvox:ivr_menu_silent_evidence:max',
    menuSurgePolls: 'wolkvox:ivr_menu_surge_evidence:polls',
    menuSurge: 'wolkvox:ivr_menu_surge_evidence:max',
  },

  // The baseline ends where the longest window of the evidence starts, so that an incident is
  // not part of the share it is compared with.
  local seconds = $._config.menuPolls * $._config.pollIntervalSeconds,
  _menuOffset:: if seconds % 60 == 0 then '%dm' % (seconds / 60) else '%ds' % seconds,

  prometheusRules+:: {
    local c = $._config,
    local r = $._records,
    local calls = 'wolkvox_ivr_calls_total',
    local menu = 'cod_opc_menu!="PULSE"',
    // The calls of the routing point over the last k polls, on each option's series.
    local rpCalls = std.rstripChars(|||
      (
        sum without (cod_opc_menu) (%(polls)s)
        + ignoring (cod_opc_menu) group_right
        0 * %(polls)s{%(menu)s}
      )
    ||| % { polls: r.optionCallsPolls, menu: menu }, '\n'),
    groups+: [
      {
        name: 'wolkvox-ivr-menu.rules',
        rules: [
          // The calls of each option over the last k polls, one series per k (label polls), as
          // exact differences of the counters k poll intervals apart (rules.libsonnet says why).
          {
            record: r.optionCallsPolls,
            expr: '%(calls)s%(sel)s - %(calls)s%(sel)s offset %(k)s >= 0' % {
              calls: calls,
              sel: $._selector(),
              k: if k * c.pollIntervalSeconds % 60 == 0 then '%dm' % (k * c.pollIntervalSeconds / 60)
              else '%ds' % (k * c.pollIntervalSeconds),
            },
            labels: { polls: '%d' % k },
          }
          for k in std.range(1, c.menuPolls)
        ] + [
          // Each option's share of the routing point's calls over the menuBaseline before the
          // windows of the evidence.
          {
            record: r.menuBaseline,
            expr: std.rstripChars(|||
              increase(%(calls)s%(opt)s[%(b)s] offset %(w)s)
              / ignoring (cod_opc_menu) group_left ()
              (sum without (cod_opc_menu) (increase(%(calls)s%(all)s[%(b)s] offset %(w)s)) > 0)
            ||| % {
              calls: calls,
              opt: $._selector(menu),
              all: $._selector(),
              b: c.menuBaseline,
              w: $._menuOffset,
            }, '\n'),
          },
          // The evidence that the option stopped being chosen k polls ago: with n calls of the
          // routing point and none of the option, at a baseline share b, the chance of that is
          // (1 - b)^n, and the evidence n ln(1 / (1 - b)) its log. One call of the option ends it.
          {
            record: r.menuSilentPolls,
            expr: std.rstripChars(|||
              (%(n)s and %(polls)s{%(menu)s} == 0)
              * ignoring (polls) group_left ln(1 / (1 - %(b)s))
            ||| % { n: rpCalls, polls: r.optionCallsPolls, menu: menu, b: r.menuBaseline }, '\n'),
          },
          // The evidence that the option's calls have come at menuSurgeFactor F times their rate
          // since k polls ago: as WolkvoxIvrPulseSpike's, with x calls of the option of n,
          // x ln F - n ln(1 + (F - 1) b).
          {
            record: r.menuSurgePolls,
            expr: std.rstripChars(|||
              %(lnF)s * %(polls)s{%(menu)s}
              - %(n)s * ignoring (polls) group_left ln(1 + %(f1)s * %(b)s)
            ||| % {
              // PromQL's ln() takes no number: ln F, written out.
              lnF: u.num(std.floor(std.log(c.menuSurgeFactor) * 1e4 + 0.5) / 1e4),
              f1: u.num(c.menuSurgeFactor - 1),
              n: rpCalls,
              polls: r.optionCallsPolls,
              menu: menu,
              b: r.menuBaseline,
            }, '\n'),
          },
          // The strongest evidence of a start at any of the last menuPolls polls: a CUSUM
          // statistic limited to that many polls, as WolkvoxIvrPulseSpike's.
          { record: r.menuSilent, expr: 'max without (polls) (%s)' % r.menuSilentPolls },
          { record: r.menuSurge, expr: 'max without (polls) (%s)' % r.menuSurgePolls },
        ],
      },
    ],
  },

  prometheusAlerts+:: {
    local c = $._config,
    local r = $._records,
    local rpName = $._rpNameTemplate,
    local rpNameF = std.strReplace(rpName, '%', '%%'),
    local runbook(rule) = rule {
      annotations+: { runbook_url: c.runbookURLPattern % std.asciiLower(rule.alert) },
    },
    groups+: [
      {
        name: 'wolkvox-ivr-menu',
        rules: [
          runbook({
            alert: 'WolkvoxIvrMenuOptionSilent',
            expr: '%s > %s' % [r.menuSilent, u.num(c.menuSilentEvidence)],
            'for': '0m',
            labels: { severity: c.menuSeverity },
            annotations: {
              summary: rpName + 'Menu option {{ $labels.cod_opc_menu }} of IVR routing point {{ $rp }} in operation {{ $labels.operation }} gets no calls.',
              description: (
                rpNameF + 'Option {{ $labels.cod_opc_menu }} of IVR routing point {{ $rp }} in Wolkvox operation '
                + '{{ $labels.operation }} took none of the calls of the last polls, where it takes its share of '
                + 'them over the %(b)s before: by chance that is less likely than e^-{{ $value | printf "%%.0f" }}, '
                + 'and the alert fires above e^-%(h)s. The branch may no longer be offered or answer: make a test '
                + 'call and choose it, check the prompt that offers it and its destination, and undo recent '
                + 'changes to the IVR flow.'
              ) % { b: c.menuBaseline, h: u.num(c.menuSilentEvidence) },
            },
          }),
          runbook({
            alert: 'WolkvoxIvrMenuOptionSurge',
            expr: '%s > %s' % [r.menuSurge, u.num(c.menuSurgeEvidence)],
            'for': '0m',
            labels: { severity: c.menuSeverity },
            annotations: {
              summary: rpName + 'Menu option {{ $labels.cod_opc_menu }} of IVR routing point {{ $rp }} in operation {{ $labels.operation }} takes far more calls than usual.',
              description: (
                rpNameF + 'Option {{ $labels.cod_opc_menu }} of IVR routing point {{ $rp }} in Wolkvox operation '
                + '{{ $labels.operation }} took more of the calls of the last polls than its share over the %(b)s '
                + 'before explains: calls of it at %(f)s times their rate are likelier by e^{{ $value | printf "%%.0f" }} '
                + 'than at their rate (the alert fires above e^%(h)s). Other branches may have failed and send '
                + 'their callers here, or the menu may route every key to it: check the other branches, make a test '
                + 'call with each key, and undo recent changes to the IVR flow.'
              ) % { b: c.menuBaseline, f: u.num(c.menuSurgeFactor), h: u.num(c.menuSurgeEvidence) },
            },
          }),
        ],
      },
    ],
  },
}
