// The outage alert and the recording rules it reads, exactly as the rules file has them: the rule
// file of prometheus/tests/outage.yml, rendered by scripts/generate-mixin. That test needs more
// than a week of samples, and promtool evaluates every rule of its rule files at every step: the
// day-long windows of the PULSE and menu rules, which the outage alert does not read, took most
// of its time.
local u = import 'lib/utils.libsonnet';
local mixin = import 'mixin.libsonnet';

local names = [mixin._records.rpCallsWeekAgo, mixin._records.rpRateWeekAgo, 'WolkvoxIvrRoutingPointOutage'];
local name(rule) = if std.objectHas(rule, 'record') then rule.record else rule.alert;
local outage(group) = group { rules: [rule for rule in group.rules if std.member(names, name(rule))] };
local groups = [outage(g) for g in mixin.prometheusRules.groups + mixin.prometheusAlerts.groups];

'# The outage alert of wolkvox-rules.yml and the recording rules it reads, for outage.yml.\n'
+ '# Do not edit: scripts/generate-mixin renders it from mixin/outage-rules.jsonnet.\n'
+ u.yaml({ groups: [g for g in groups if g.rules != []] })
