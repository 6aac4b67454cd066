// The monitoring mixin of wolkvox-exporter: prometheusRules (recording rules), prometheusAlerts
// and grafanaDashboards, all from one _config (config.libsonnet). Import it into your own
// jsonnet and override _config; README.md ("The monitoring mixin") shows how.
(import 'config.libsonnet') +
(import 'rules.libsonnet') +
(import 'alerts.libsonnet') +
(import 'dashboards/wolkvox-ivr.libsonnet') +
(import 'dashboards/wolkvox-exporter.libsonnet')
