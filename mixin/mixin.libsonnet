// The monitoring mixin of wolkvox-exporter: prometheusRules (recording rules), prometheusAlerts
// and grafanaDashboards, all from one _config (config.libsonnet). Import it into your own
// jsonnet and override _config; README.md ("The monitoring mixin") shows how.
local u = import 'lib/utils.libsonnet';

(import 'config.libsonnet') +
(import 'rules.libsonnet') +
(import 'alerts.libsonnet') +
(import 'menu.libsonnet') +
(import 'dashboards/wolkvox-ivr.libsonnet') +
(import 'dashboards/wolkvox-exporter.libsonnet') +
{
  // Checked on every use of the mixin, whatever part of it is rendered: an unknown parameter stops it.
  assert u.known(self._config),
}
