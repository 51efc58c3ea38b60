// Package doctor diagnoses why an HPA shows <unknown> or why KEDA does not
// scale: it reads a live cluster the way the HPA controller does (collect),
// judges the result with pure checks (check), and renders findings for
// people and CI (render). It also lints manifests offline (-f).
//
// The check IDs (ACC-, API-, HPA-, RES-, CUS-, KEDA-) are the catalogue of
// shared/spec/doctor-tui.md §2; docs/doctor.md has one section per ID.
//
// Stable API (used by `mlscale doctor` and `mlscale watch`):
//
//	clients, err := doctor.NewClients(restConfig)        // or &doctor.Clients{Kube: fake, Dynamic: fakeDyn}
//	snap, err := doctor.Collect(ctx, clients, doctor.Scope{Namespace: "ml"})
//	// err is an *UnreachableError only when the cluster cannot be reached;
//	// forbidden or slow probes become snap.Skipped entries.
//	findings := doctor.Check(snap)                        // pure, deterministic order
//	mine := doctor.FindingsFor(findings, obj, hpaName)    // one autoscaler's findings
//	report := doctor.Diagnose(snap)                       // findings + skipped + summary
//	err = doctor.Render(w, "table", report, doctor.RenderOptions{})
//
// Offline (manifests; file and line per finding):
//
//	set, err := doctor.LoadManifests(paths)              // files or directories, multi-document YAML
//	report := doctor.CheckManifests(set)
//
// A Finding carries the check ID, severity, object, title, a one-line
// summary (mlscale's interpretation), Message (the controller's own words,
// verbatim, when a controller said something), evidence (conditions,
// events, the probe doctor made), remediation and a docs link.
//
// Collect lists each kind once per scope (HPAs, pods, Warning events,
// Deployments, APIServices, ScaledObjects, TriggerAuthentications), resolves
// targets of other kinds through /scale, and queries the metrics APIs by the
// paths the HPA controller uses, with the HPA's selector; requests run in a
// bounded worker pool with a timeout each. SnapshotHPA turns a snapshot into
// an HPAState document for `mlscale hpa eval`.
package doctor
