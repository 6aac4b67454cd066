#!/usr/bin/env python3
"""Renders the Prometheus recording rules and alerts of wolkvox-exporter.

prometheus/wolkvox-rules.yml is this script's output with the defaults below; a test keeps the
two in step. To change a threshold, render your own copy instead of editing the file:

    python3 prometheus/render_rules.py --pulse-ratio 4 --pulse-min-calls 100 -o my-rules.yml

Every parameter is a flag (see --help). Range windows cannot be variables in PromQL, which is
why the rules are rendered rather than written by hand. Standard library only.
"""

import argparse
import json
import re
import shlex
import sys

# name -> (default, help). The order is the order of --help and of the header of the output.
PARAMETERS = {
    "pulse_window": ("15m", "window in which the PULSE share of a routing point is measured"),
    "pulse_baseline": ("3h", "window before --pulse-window that gives the routing point's baseline share"),
    "pulse_ratio": ("3", "alert when the share is more than this many times the baseline share"),
    "pulse_min_share": ("0.2", "... and above this share (0-1), so a near-zero baseline does not page"),
    "pulse_min_calls": ("30", "... and the routing point had at least this many calls in --pulse-window"),
    "pulse_for": ("10m", "how long the PULSE condition must hold before the alert fires"),
    "pulse_severity": ("critical", "severity label of WolkvoxIvrPulseSpike"),
    "exporter_selector": ('job="wolkvox-exporter"', "label matchers of the exporter's scrape target in `up`"),
    "exporter_down_for": ("5m", "how long the target must be down before WolkvoxExporterDown fires"),
    "polls_failing_for": ("15m", "how long wolkvox_up must be 0 before WolkvoxPollsFailing fires"),
    "stale_after": ("30m", "WolkvoxDataStale: the last successful poll is older than this"),
    "stale_for": ("5m", "how long the data must be stale before WolkvoxDataStale fires"),
    "quota_window": ("1h", "WolkvoxTokenQuotaExceeded: a poll was refused for quota within this window"),
    "rejected_window": ("1h", "WolkvoxRowsRejected: a report row was rejected within this window"),
    "budget_ratio": ("0.9", "WolkvoxTokenBudgetLow: the token has used more than this share (0-1) of its daily limit"),
    "budget_for": ("5m", "how long the budget must stay that low before WolkvoxTokenBudgetLow fires"),
}

DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
NUMBER = re.compile(r"^[0-9]+(\.[0-9]+)?$")


def seconds(duration):
    """Seconds in a Prometheus duration such as 1h30m."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    return sum(int(n) * units[u] for n, u in re.findall(r"([0-9]+)(ms|s|m|h|d|w|y)", duration))


def check(p):
    """Rejects values that would render an invalid or misleading rules file."""
    for name in ("pulse_window", "pulse_baseline", "pulse_for", "exporter_down_for",
                 "polls_failing_for", "stale_after", "stale_for", "quota_window", "rejected_window",
                 "budget_for"):
        if not DURATION.match(p[name]):
            sys.exit(f"render_rules.py: --{name.replace('_', '-')}: not a duration: {p[name]!r}")
    for name in ("pulse_ratio", "pulse_min_share", "pulse_min_calls", "budget_ratio"):
        if not NUMBER.match(p[name]):
            sys.exit(f"render_rules.py: --{name.replace('_', '-')}: not a number: {p[name]!r}")
    if float(p["pulse_min_share"]) > 1:
        sys.exit("render_rules.py: --pulse-min-share is a share between 0 and 1")
    if float(p["budget_ratio"]) > 1:
        sys.exit("render_rules.py: --budget-ratio is a share between 0 and 1")
    if p["pulse_severity"] not in ("critical", "warning", "info"):
        sys.exit("render_rules.py: --pulse-severity: one of critical, warning, info")


def rules(p):
    """The rule groups as plain data."""
    window = p["pulse_window"]
    baseline = p["pulse_baseline"]
    calls = "wolkvox_ivr_calls_total"
    ivr = [
        {
            "record": "wolkvox:ivr_option_calls:increase",
            "expr": f"increase({calls}[{window}])",
        },
        {
            "record": "wolkvox:ivr_rp_calls:increase",
            "expr": "sum without (cod_opc_menu) (wolkvox:ivr_option_calls:increase)",
        },
        {
            "record": "wolkvox:ivr_pulse_share:ratio",
            "expr": (
                'sum without (cod_opc_menu) (wolkvox:ivr_option_calls:increase{cod_opc_menu="PULSE"})\n'
                "/\n(wolkvox:ivr_rp_calls:increase > 0)"
            ),
        },
        {
            "record": "wolkvox:ivr_pulse_share_baseline:ratio",
            "expr": (
                f'sum without (cod_opc_menu) (increase({calls}{{cod_opc_menu="PULSE"}}[{baseline}] offset {window}))\n'
                "/\n"
                f"(sum without (cod_opc_menu) (increase({calls}[{baseline}] offset {window})) > 0)"
            ),
        },
        {
            "record": "wolkvox:ivr_pulse_share_threshold:ratio",
            "expr": f"clamp_min({p['pulse_ratio']} * wolkvox:ivr_pulse_share_baseline:ratio, {p['pulse_min_share']})",
        },
        {
            "alert": "WolkvoxIvrPulseSpike",
            "expr": (
                "wolkvox:ivr_pulse_share:ratio > wolkvox:ivr_pulse_share_threshold:ratio\n"
                f"and wolkvox:ivr_rp_calls:increase >= {p['pulse_min_calls']}"
            ),
            "for": p["pulse_for"],
            "labels": {"severity": p["pulse_severity"]},
            "annotations": {
                "summary": "PULSE share of IVR routing point {{ $labels.rp_id }} in operation {{ $labels.operation }} is far above its baseline.",
                "description": (
                    f"{{{{ $value | humanizePercentage }}}} of the calls of IVR routing point {{{{ $labels.rp_id }}}} in "
                    f"Wolkvox operation {{{{ $labels.operation }}}} over the last {window} chose PULSE (the caller pressed "
                    f"nothing), more than {p['pulse_ratio']} times its share in the {baseline} before and above "
                    f"{float(p['pulse_min_share']) * 100:g}%. Callers may not hear the menu, or their key presses may not "
                    "be recognised: make a test call to the routing point, check its audio prompts and DTMF detection, "
                    "and undo recent changes to its IVR flow."
                ),
            },
        },
    ]
    exporter = [
        {
            "alert": "WolkvoxExporterDown",
            "expr": f"up{{{p['exporter_selector']}}} == 0",
            "for": p["exporter_down_for"],
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "Prometheus cannot scrape the Wolkvox exporter {{ $labels.instance }}.",
                "description": (
                    "The scrape target {{ $labels.instance }} of job {{ $labels.job }} has been down for more than "
                    f"{p['exporter_down_for']}, so no Wolkvox operation or routing point it exports is monitored. "
                    "Check that the exporter process or pod runs, read its logs, and check the network path and the "
                    "scrape configuration."
                ),
            },
        },
        {
            "alert": "WolkvoxPollsFailing",
            "expr": "wolkvox_up == 0",
            "for": p["polls_failing_for"],
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "The Wolkvox exporter gets no report for operation {{ $labels.operation }}.",
                "description": (
                    "Polls of the Wolkvox report for operation {{ $labels.operation }} have failed for more than "
                    f"{p['polls_failing_for']}; the figures of all its routing points are not updated. Check the result "
                    "label of wolkvox_polls_total and the exporter's logs for why: unauthorized means the token is "
                    "invalid or expired (renew it), quota_exceeded the daily token budget, maintenance a Wolkvox "
                    "backup, network_error or timeout a blocked IP or a network problem."
                ),
            },
        },
        {
            "alert": "WolkvoxDataStale",
            "expr": f"time() - wolkvox_last_success_timestamp_seconds > {seconds(p['stale_after']):g}",
            "for": p["stale_for"],
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "Wolkvox data of operation {{ $labels.operation }} is stale.",
                "description": (
                    "The last successful poll of the Wolkvox report for operation {{ $labels.operation }} was "
                    "{{ $value | humanizeDuration }} ago (more than "
                    f"{p['stale_after']}), so the dashboards and the PULSE alert of its routing points show old data. "
                    "Check wolkvox_polls_total by result and the exporter's logs; when the exporter is down, "
                    "WolkvoxExporterDown fires too."
                ),
            },
        },
        {
            "alert": "WolkvoxTokenQuotaExceeded",
            "expr": f'increase(wolkvox_polls_total{{result="quota_exceeded"}}[{p["quota_window"]}]) > 0',
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "The Wolkvox token of operation {{ $labels.operation }} has used up its daily quota.",
                "description": (
                    "Wolkvox refused polls for operation {{ $labels.operation }} with TOKEN LIMIT EXCEEDED in the last "
                    f"{p['quota_window']}. The exporter stops calling until the next local day, so the data of all "
                    "its routing points stays stale until then. Find what else spends the token's budget "
                    "(licences x 1000 calls a day, shared by everything that uses the token), lengthen "
                    "--poll.interval, or use a token of its own."
                ),
            },
        },
        {
            "alert": "WolkvoxTokenBudgetLow",
            "expr": (
                f"wolkvox_token_used_today / (wolkvox_token_limit > 0) > {p['budget_ratio']}"
            ),
            "for": p["budget_for"],
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": (
                    "The Wolkvox token of operation {{ $labels.operation }} has used "
                    "{{ $value | humanizePercentage }} of its daily limit."
                ),
                "description": (
                    "token_info reports that the token of operation {{ $labels.operation }} has spent "
                    "{{ $value | humanizePercentage }} of its calls for today (more than "
                    f"{float(p['budget_ratio']):.0%}). When it runs out, Wolkvox refuses every call until the next "
                    "local day and the data goes stale. Find what else uses the token "
                    "(wolkvox_api_requests_today shows this exporter's own share), lengthen --poll.interval, or "
                    "ask Wolkvox for more licences."
                ),
            },
        },
        {
            "alert": "WolkvoxRowsRejected",
            "expr": f"increase(wolkvox_rows_rejected_total[{p['rejected_window']}]) > 0",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "The Wolkvox exporter skips report rows of operation {{ $labels.operation }}.",
                "description": (
                    "{{ printf \"%.0f\" $value }} rows of the Wolkvox report of operation {{ $labels.operation }} were "
                    f"rejected as {{{{ $labels.reason }}}} in the last {p['rejected_window']}, so the figures of their "
                    "routing points are too low. The report's format may have changed: the exporter's warning logs "
                    "show the rows; report them so the parser can be updated."
                ),
            },
        },
    ]
    return {
        "groups": [
            {"name": "wolkvox-ivr", "rules": ivr},
            {"name": "wolkvox-exporter", "rules": exporter},
        ]
    }


def scalar(value):
    """A YAML scalar: plain when unambiguous, else single-quoted (only ' needs escaping there)."""
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9_:.-]*", value) and value not in ("true", "false", "null", "yes", "no"):
        return value
    return "'" + value.replace("'", "''") + "'"


def emit(node, indent, out):
    """Writes maps and lists of strings as block YAML; multi-line strings as literal blocks."""
    pad = " " * indent
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str):
                if "\n" in value:
                    out.append(f"{pad}{key}: |-")
                    out.extend(f"{pad}  {line}" for line in value.split("\n"))
                else:
                    out.append(f"{pad}{key}: {scalar(value)}")
            else:
                out.append(f"{pad}{key}:")
                emit(value, indent + 2, out)
    else:
        for item in node:
            lines = []
            emit(item, indent + 2, lines)
            out.append(f"{pad}- {lines[0].lstrip()}")
            out.extend(lines[1:])


def render(p):
    """The whole file, header included."""
    overrides = []
    for name, (default, _) in PARAMETERS.items():
        if p[name] != default:
            value = p[name] if re.fullmatch(r"[A-Za-z0-9_.:-]+", p[name]) else shlex.quote(p[name])
            overrides.append("--" + name.replace("_", "-") + " " + value)
    out = [
        "# Recording rules and alerts for wolkvox-exporter. Generated by prometheus/render_rules.py:",
        "# do not edit; render a copy with your own thresholds instead (README, \"Dashboards and alerts\").",
        "# Parameters: " + (" ".join(overrides) if overrides else "the defaults."),
    ]
    emit(rules(p), 0, out)
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, (default, text) in PARAMETERS.items():
        metavar = ("N" if NUMBER.match(default) else "DURATION" if DURATION.match(default)
                   else "MATCHERS" if name == "exporter_selector" else "SEVERITY")
        parser.add_argument("--" + name.replace("_", "-"), dest=name, default=default, metavar=metavar,
                            help=f"{text} (default: {default})")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of to standard output")
    args = vars(parser.parse_args())
    output = args.pop("output")
    check(args)
    text = render(args)
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
