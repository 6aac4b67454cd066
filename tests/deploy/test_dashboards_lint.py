"""The committed dashboards (dashboards/*.json) against the rules of Grafana's dashboard linter.

Each test re-states one rule of github.com/grafana/dashboard-linter (lint/rule_*.go, named in the test's docstring) on
the JSON as it ships, with the PromQL parsed by promql-parser (the Python binding of the Rust promql-parser crate).
Where this project departs from a rule on purpose, the test says so and why. The chart's copies are the same
dashboards with a placeholder in the recording rules' names; test_chart.py compares them with the mixin's output.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import DASHBOARDS, missing

try:
    import promql_parser
except ImportError:  # pragma: no cover - scripts/setup installs it
    promql_parser = None

PATHS = sorted(DASHBOARDS.glob("*.json"))
assert PATHS, f"no dashboards in {DASHBOARDS}"

# The panel types that the linter's rules look at (lint/constants.go).
STAT, SINGLESTAT, GAUGE, GRAPH, TIMESERIES, TABLE = "stat", "singlestat", "gauge", "graph", "timeseries", "table"

# lint/variables.go: the sample values that Grafana's global variables are expanded to before a query is parsed. A
# range of $__rate_interval becomes this odd duration, which is how the rate-interval rule recognises it.
GLOBAL_SAMPLES = {
    "__rate_interval": "8869990787ms",
    "__interval": "4867856611ms",
    "__interval_ms": "7781188786",
    "__range_ms": "6737667980",
    "__range_s": "9397795485",
    "__range": "6069770749ms",
    "__auto": "12345ms",
}
RATE_INTERVAL_SAMPLE = timedelta(milliseconds=8869990787)


def as_duration(sample: str) -> str:
    """A sample duration as promql-parser reads it: it takes no more than 2^31 of a unit, so 8869990787ms is written
    102d15h53m10s787ms, the same duration."""
    if not sample.endswith("ms"):
        return sample
    rest, out = int(sample[:-2]), ""
    for unit, ms in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        if rest >= ms:
            out += f"{rest // ms}{unit}"
            rest %= ms
    return out


VARIABLE = re.compile(r"\$(\w+)|\$\{([^}]+)\}|\[\[([^\[\]]+)\]\]")

# lint/rule_panel_units.go's list of valid units (from Grafana's valueFormats/categories.ts).
VALID_UNITS = set(
    """
    none string short percent percentunit humidity dB hex0x hex sci locale pixel accMS2 accFS2 accG degree radian grad
    arcmin arcsec areaM2 areaF2 areaMI2 flops mflops gflops tflops pflops eflops zflops yflops ppm conppb conngm3
    conngNm3 conμgm3 conμgNm3 conmgm3 conmgNm3 congm3 congNm3 conmgdL conmmolL currencyUSD currencyGBP currencyEUR
    currencyJPY currencyRUB currencyUAH currencyBRL currencyDKK currencyISK currencyNOK currencySEK currencyCZK
    currencyCHF currencyPLN currencyBTC currencymBTC currencyμBTC currencyZAR currencyINR currencyKRW currencyIDR
    currencyPHP currencyVND bytes decbytes bits decbits kbytes deckbytes mbytes decmbytes gbytes decgbytes tbytes
    dectbytes pbytes decpbytes pps binBps Bps binbps bps KiBs Kibits KBs Kbits MiBs Mibits MBs Mbits GiBs Gibits GBs
    Gbits TiBs Tibits TBs Tbits PiBs Pibits PBs Pbits dateTimeAsIso dateTimeAsIsoNoDateIfToday dateTimeAsUS
    dateTimeAsUSNoDateIfToday dateTimeAsLocal dateTimeAsLocalNoDateIfToday dateTimeAsSystem dateTimeFromNow watt kwatt
    megwatt gwatt mwatt Wm2 voltamp kvoltamp voltampreact kvoltampreact watth watthperkg kwatth kwattm amph kamph mamph
    joule ev amp kamp mamp volt kvolt mvolt dBm ohm kohm Mohm farad µfarad nfarad pfarad ffarad henry mhenry µhenry
    lumens flowgpm flowcms flowcfs flowcfm litreh flowlpm flowmlpm lux forceNm forcekNm forceN forcekN Hs KHs MHs GHs
    THs PHs EHs massmg massg masslb masskg masst lengthmm lengthin lengthft lengthm lengthkm lengthmi pressurembar
    pressurebar pressurekbar pressurepa pressurehpa pressurekpa pressurehg pressurepsi radbq radci radgy radrad radsv
    radmsv radusv radrem radexpckg radr radsvh radmsvh radusvh rotrpm rothz rotrads rotdegs celsius fahrenheit kelvin
    hertz ns µs ms s m h d dtdurationms dtdurations dthms dtdhms timeticks clockms clocks cps ops reqps rps wps iops cpm
    opm rpm wpm mps mpm velocityms velocitykmh velocitymph velocityknot mlitre litre m3 Nm3 dm3 gallons bool bool_yes_no
    bool_on_off
    """.split()
)


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(params=PATHS, ids=[p.name for p in PATHS])
def dashboard(request) -> dict[str, Any]:
    return load(request.param)


@pytest.fixture(scope="module")
def promql():
    if promql_parser is None:
        missing("the Python package promql-parser")
    return promql_parser


def panels(d: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows' collapsed panels included."""
    for p in d.get("panels", []):
        yield p
        yield from p.get("panels", [])


def targets(d: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for p in panels(d):
        for t in p.get("targets") or []:
            yield p, t


def variables(d: dict[str, Any]) -> list[dict[str, Any]]:
    return d["templating"]["list"]


def variable(d: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((v for v in variables(d) if v["name"] == name), None)


def query_of(v: dict[str, Any]) -> str:
    """A variable's query as the linter reads it (lint.go: a string, or the `query` of an object)."""
    q = v.get("query")
    return q.get("query", "") if isinstance(q, dict) else q or ""


def template_datasource(d: dict[str, Any]) -> dict[str, Any] | None:
    """The first datasource variable (rule_template_datasource.go's getTemplateDatasource)."""
    return next((v for v in variables(d) if v["type"] == "datasource"), None)


def is_prometheus(d: dict[str, Any]) -> bool:
    """The linter checks queries only when the dashboard's datasource variable is of Prometheus."""
    ds = template_datasource(d)
    return ds is not None and query_of(ds) == "prometheus"


def expand(expr: str, d: dict[str, Any]) -> str:
    """lint/variables.go's expandVariables: variables outside double-quoted strings become sample values (globals
    their samples, the dashboard's own variables their name), so that the query parses; inside quotes they stay."""

    def sample(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g is not None).split(":")[0]
        return as_duration(GLOBAL_SAMPLES[name]) if name in GLOBAL_SAMPLES else name

    parts = expr.split('"')
    return '"'.join(part if i % 2 else VARIABLE.sub(sample, part) for i, part in enumerate(parts))


def parse(promql, expr: str, d: dict[str, Any]):
    return promql.parse(expand(expr, d))


def children(node) -> list[Any]:
    kind = type(node).__name__
    if kind == "BinaryExpr":
        return [node.lhs, node.rhs]
    if kind == "AggregateExpr":
        return [x for x in (node.param, node.expr) if x is not None]
    if kind == "Call":
        return list(node.args)
    if kind == "MatrixSelector":
        return [node.vector_selector]
    if kind in ("ParenExpr", "SubqueryExpr", "UnaryExpr"):
        return [node.expr]
    return []


def walk(node, parents: tuple = ()) -> Iterator[tuple[Any, tuple]]:
    """Every node with its ancestors, nearest last (Prometheus' parser.Walk with its path)."""
    yield node, parents
    for child in children(node):
        yield from walk(child, (*parents, node))


def selectors(node) -> list[Any]:
    return [n for n, _ in walk(node) if type(n).__name__ == "VectorSelector"]


def matcher_error(selector, name: str) -> str | None:
    """lint/target_utils.go's checkForMatcher(selector, name, =~, "$name"): None when the selector has it."""
    result = f"{name} selector not found"
    for m in selector.matchers.matchers:
        if m.name != name:
            continue
        if m.op == promql_parser.MatchOp.Re and m.value == f"${name}":
            return None
        if m.op != promql_parser.MatchOp.Re:
            result = f"{name} selector is {m.op}, not =~"
        if m.value != f"${name}":
            result = f"{name} selector is {m.value}, not ${name}"
    return result


def panel_datasource_uid(p: dict[str, Any]) -> str:
    ds = p.get("datasource")
    return ds.get("uid", "") if isinstance(ds, dict) else ds or ""


# --- dashboard rules ---------------------------------------------------------------------------------------------


def test_dashboard_has_one_prometheus_datasource_variable_named_datasource(dashboard):
    """template-datasource-rule: a datasource variable exists; with one, it is named `datasource` (or
    `prometheus_datasource`) and labelled `Data source` (or `Prometheus data source`)."""
    found = [v for v in variables(dashboard) if v["type"] == "datasource"]
    assert len(found) == 1, found
    ds = found[0]
    assert query_of(ds) == "prometheus"
    assert ds["name"] in ("datasource", "prometheus_datasource")
    assert ds["label"] in ("Data source", "Prometheus data source")


@pytest.mark.parametrize("name", ["job", "instance"])
def test_dashboard_has_a_multi_value_query_variable_for(dashboard, name):
    """template-job-rule and template-instance-rule (checkTemplate in rule_template_job.go): a variable named `job`
    (`instance`), a query of the templated datasource, labelled `Job` (`Instance`), multi-value.

    One departure: the linter wants allValue `.+`; these use `.*` (and the Rust test of the dashboards asks for it),
    because `backfill` run without --instance writes series with no instance label, and All must still show them."""
    v = variable(dashboard, name)
    assert v is not None, f"no {name} variable"
    assert v["datasource"]["uid"] in ("$datasource", "${datasource}", "$prometheus_datasource", "${prometheus_datasource}")
    assert v["type"] == "query"
    assert v["label"] == name.title()
    assert v["multi"] is True
    assert v["includeAll"] is True
    assert v["allValue"] == ".*"


def test_job_and_instance_variables_list_the_exporters_wolkvox_up_series(dashboard):
    """The variables list what wolkvox_up has, instance within the chosen jobs, and come first so the others follow."""
    assert query_of(variable(dashboard, "job")) == "label_values(wolkvox_up, job)"
    assert query_of(variable(dashboard, "instance")) == 'label_values(wolkvox_up{job=~"$job"}, instance)'
    names = [v["name"] for v in variables(dashboard)]
    assert names[:3] == ["datasource", "job", "instance"], names


def test_query_variables_use_a_label_function_over_valid_promql(dashboard, promql):
    """template-label-promql-rule: every query variable is label_names, label_values, metrics or query_result of
    PromQL that parses. The linter parses everything between the brackets and accepts a partial parse; this parses
    the series selector, the part before the label's name."""
    for v in variables(dashboard):
        if v["type"] != "query":
            continue
        m = re.fullmatch(r"([a-z_]+)\((.+)\)", query_of(v))
        assert m, f"{v['name']}: {query_of(v)}"
        assert m.group(1) in ("label_names", "label_values", "metrics", "query_result"), v["name"]
        argument = m.group(2).rsplit(",", 1)[0] if m.group(1) == "label_values" else m.group(2)
        parse(promql, argument, dashboard)


def test_query_variables_refresh_when_the_time_range_changes(dashboard):
    """template-on-time-change-reload-rule: every query variable has refresh 2 (On time range change)."""
    assert {v["name"]: v["refresh"] for v in variables(dashboard) if v["type"] == "query"} == {
        v["name"]: 2 for v in variables(dashboard) if v["type"] == "query"
    }


# --- panel rules -------------------------------------------------------------------------------------------------


def test_panels_use_the_datasource_variable(dashboard):
    """panel-datasource-rule: singlestat, graph, table and timeseries panels use `$datasource` or `${datasource}`.
    Checked on every panel, stat and bargauge too."""
    names = [v["name"] for v in variables(dashboard) if v["type"] == "datasource"]
    allowed = {f"${n}" for n in names} | {f"${{{n}}}" for n in names}
    for p in panels(dashboard):
        assert panel_datasource_uid(p) in allowed, p["title"]


def test_panels_have_a_title_and_a_description(dashboard):
    """panel-title-description-rule, on every panel rather than only the linter's types."""
    for p in panels(dashboard):
        assert p.get("title") and p.get("description"), p.get("title")


def test_panels_have_targets(dashboard):
    """panel-no-targets-rule, on every panel rather than only the linter's types."""
    for p in panels(dashboard):
        assert p.get("targets"), p["title"]


def configured_unit(p: dict[str, Any]) -> str:
    """rule_panel_units.go's getConfiguredUnit: the last unit of an override, else the default's unit."""
    unit = ""
    for override in p.get("fieldConfig", {}).get("overrides", []):
        for prop in override.get("properties", []):
            if prop["id"] == "unit":
                unit = prop["value"]
    return unit or p.get("fieldConfig", {}).get("defaults", {}).get("unit", "")


def value_mappings(p: dict[str, Any]) -> Any:
    """rule_panel_units.go's getValueMappings: mappings of an override, else of the defaults."""
    for override in p.get("fieldConfig", {}).get("overrides", []):
        for prop in override.get("properties", []):
            if prop["id"] == "mappings" and prop.get("value") is not None:
                return prop["value"]
    return p.get("fieldConfig", {}).get("defaults", {}).get("mappings")


def test_panels_have_a_valid_unit_or_value_mappings(dashboard):
    """panel-units-rule: a panel has value mappings, or a unit from Grafana's list (a stat panel that shows a
    non-numeric field is exempt). The linter looks at stat, singlestat, graph, table, timeseries and gauge panels; this
    looks at every panel, and gives no stat the exemption: none here shows a text field."""
    for p in panels(dashboard):
        if value_mappings(p) is not None:
            continue
        assert configured_unit(p) in VALID_UNITS, f"{p['title']}: unit {configured_unit(p)!r}"


def test_every_value_column_of_a_table_has_a_unit(dashboard):
    """A table's default unit covers the columns no override names: the linter, which reads the override first,
    would pass a table whose other columns have none."""
    for p in panels(dashboard):
        if p["type"] == TABLE:
            assert p["fieldConfig"]["defaults"].get("unit") in VALID_UNITS, p["title"]


# --- target rules ------------------------------------------------------------------------------------------------


def test_targets_are_valid_promql(dashboard, promql):
    """target-promql-rule: every target's query parses once the variables are expanded."""
    assert is_prometheus(dashboard)
    for p, t in targets(dashboard):
        assert t.get("expr"), f"{p['title']} {t['refId']}: no query"
        parse(promql, t["expr"], dashboard)


@pytest.mark.parametrize("name", ["job", "instance"])
def test_every_selector_of_every_target_matches_the_variable(dashboard, promql, name):
    """target-job-rule and target-instance-rule: every series selector of every target has `name=~"$name"`, so that
    the variables choose among several exporters, shards and backfilled series."""
    assert is_prometheus(dashboard)
    checked = 0
    for p, t in targets(dashboard):
        for selector in selectors(parse(promql, t["expr"], dashboard)):
            assert matcher_error(selector, name) is None, f"{p['title']}: {t['expr']}: {matcher_error(selector, name)}"
            checked += 1
    assert checked > 10


@pytest.mark.parametrize("name", ["job", "instance"])
def test_variable_and_annotation_queries_match_the_variable_too(dashboard, promql, name):
    """Beyond the linter: the other variables and the annotations select by job and instance as well, so that a
    variable lists the values of the chosen exporters only. The job variable's own query cannot, nor the instance
    variable's by instance."""
    queries = []
    for v in variables(dashboard):
        if v["type"] == "query" and v["name"] not in ("job", "instance"):
            query = query_of(v).strip()
            if query.startswith("query_result("):
                # The whole argument is a PromQL expression.
                queries.append((v["name"], query.removeprefix("query_result(").removesuffix(")")))
            else:
                # label_values(selector, label): the selector.
                queries.append((v["name"], query.split("(", 1)[1].rsplit(",", 1)[0]))
    for a in dashboard["annotations"]["list"]:
        if a.get("expr"):
            queries.append((a["name"], a["expr"]))
    assert queries
    for where, expr in queries:
        for selector in selectors(parse(promql, expr, dashboard)):
            assert matcher_error(selector, name) is None, f"{where}: {expr}"


def test_rate_and_irate_of_targets_use_rate_interval(dashboard, promql):
    """target-rate-interval-rule: a range that is not $__rate_interval is an error when it is the argument of rate()
    or irate(), or of no function at all; other functions (increase, with its own window) may have any range."""
    ranges = 0
    for p, t in targets(dashboard):
        for node, parents in walk(parse(promql, t["expr"], dashboard)):
            if type(node).__name__ != "MatrixSelector":
                continue
            ranges += 1
            if node.range == RATE_INTERVAL_SAMPLE or not parents:
                continue
            parent = parents[-1]
            assert type(parent).__name__ == "Call", f"{p['title']}: range outside a function: {t['expr']}"
            assert parent.func.name not in ("rate", "irate"), f"{p['title']}: should use $__rate_interval: {t['expr']}"
    assert ranges > 0


def test_counters_are_read_through_rate_irate_or_increase(dashboard, promql):
    """target-counter-agg-rule: a series whose name ends in _total is the range of rate(), irate() or increase().
    The linter tests the printed selector, which ends in `}` whenever it has matchers (so it never fires on these
    dashboards); this tests the metric's name, as the rule means."""
    for p, t in targets(dashboard):
        for node, parents in walk(parse(promql, t["expr"], dashboard)):
            if type(node).__name__ != "VectorSelector" or not (node.name or "").endswith("_total"):
                continue
            assert len(parents) >= 2, f"{p['title']}: {t['expr']}"
            assert type(parents[-1]).__name__ == "MatrixSelector", f"{p['title']}: {t['expr']}"
            call = parents[-2]
            assert type(call).__name__ == "Call" and call.func.name in ("rate", "irate", "increase"), t["expr"]
