// Validates Prometheus Operator objects (JSON array on stdin) against the CRD schemas of
// @kubernetes-models/prometheus-operator, which compiles the upstream CRDs' OpenAPI schemas into validators.
// Prints one JSON line per object, {"kind", "name", "error"}, and exits 1 if any object is invalid or unknown.
import { readFileSync } from "node:fs";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";

const models = {
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
  "monitoring.coreos.com/v1/PodMonitor": PodMonitor,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
};

let failed = false;
for (const object of JSON.parse(readFileSync(0, "utf8"))) {
  const Model = models[`${object.apiVersion}/${object.kind}`];
  let error = null;
  if (!Model) {
    error = `no CRD schema here for ${object.apiVersion} ${object.kind}`;
  } else {
    try {
      new Model(object).validate();
    } catch (e) {
      error = e.message;
    }
  }
  failed ||= error !== null;
  console.log(JSON.stringify({ kind: object.kind, name: object.metadata?.name, error }));
}
process.exit(failed ? 1 : 0);
