// The Grafana dashboards, one file each:
//   jsonnet -m my-dashboards --tla-code 'config={dashboardRefresh: "5m"}' mixin/dashboards.jsonnet
local u = import 'lib/utils.libsonnet';

function(config={})
  local mixin = (import 'mixin.libsonnet') + { _config+:: config };
  assert u.checked(mixin._config);
  mixin.grafanaDashboards
