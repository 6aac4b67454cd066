// The rules file, recording rules then alerts, as YAML:
//   jsonnet -S --tla-code 'config={pulseRatio: 4}' mixin/rules.jsonnet > wolkvox-rules.yml
// config overrides the mixin's _config; a value that would break the rules stops the rendering.
local u = import 'lib/utils.libsonnet';

function(config={})
  local mixin = (import 'mixin.libsonnet') + { _config+:: config };
  assert u.checked(mixin._config);
  '# Recording rules and alerts of wolkvox-exporter, rendered from its monitoring mixin (mixin/).\n'
  + '# Do not edit: render your own copy instead (README, "Changing thresholds").\n'
  + '# Parameters: ' + (if config == {} then 'the defaults.' else std.join(', ', ['%s: %s' % [k, std.toString(config[k])] for k in std.objectFields(config)])) + '\n'
  + u.yaml({ groups: mixin.prometheusRules.groups + mixin.prometheusAlerts.groups })
