package hpa

import (
	corev1 "k8s.io/api/core/v1"
	resourcehelpers "k8s.io/component-helpers/resource"
)

const maxReqCache = 64

// podRequest mirrors calculateRequests for one pod, cached per PodSpec.
func (st *State) podRequest(in *Input, p *Pod, res corev1.ResourceName, container string) (int64, string) {
	sc := &st.scratch
	podLevel := in.Config.Gates.PodLevelResources
	minor := in.Config.minor()
	if minor <= 33 {
		podLevel = false // 1.33's controller has no pod-level requests
	}
	legacy := minor <= 34
	for k := range sc.reqs {
		e := &sc.reqs[k]
		if e.spec == p.Spec && e.res == res && e.container == container && e.podLevel == podLevel && e.legacy == legacy {
			return e.milli, reqErr(e, res, container, p.Name)
		}
	}
	e := computeRequest(p.Spec, res, container, podLevel, legacy)
	if len(sc.reqs) >= maxReqCache {
		sc.reqs = sc.reqs[:0]
	}
	sc.reqs = append(sc.reqs, e)
	return e.milli, reqErr(&e, res, container, p.Name)
}

func reqErr(e *reqEntry, res corev1.ResourceName, container, pod string) string {
	switch e.errKind {
	case 1:
		return "missing request for " + string(res) + " in container " + e.errCont + " of Pod " + pod
	case 2:
		return "container " + container + " not found in Pod " + pod
	case 3:
		return "missing pod-level request for " + string(res) + " in Pod " + pod
	}
	return ""
}

var emptySpec corev1.PodSpec

// computeRequest mirrors calculateRequests; legacy is the 1.33/1.34 container
// loop, which neither stops at the named container nor fails when it is
// absent (the request is then 0).
func computeRequest(spec *corev1.PodSpec, res corev1.ResourceName, container string, podLevelGate, legacy bool) reqEntry {
	e := reqEntry{spec: spec, res: res, container: container, podLevel: podLevelGate, legacy: legacy}
	s := spec
	if s == nil {
		s = &emptySpec
	}
	if podLevelGate && container == "" {
		pod := &corev1.Pod{Spec: *s}
		if resourcehelpers.IsPodLevelRequestsSet(pod) {
			reqs := resourcehelpers.PodRequests(pod, resourcehelpers.PodResourcesOptions{})
			q, ok := reqs[res]
			if !ok {
				e.errKind = 3
				return e
			}
			e.milli = q.MilliValue()
			return e
		}
	}
	check := func(c *corev1.Container) (done bool) {
		if container == "" || container == c.Name {
			q, ok := c.Resources.Requests[res]
			if !ok {
				e.errKind = 1
				e.errCont = c.Name
				return true
			}
			e.milli += q.MilliValue()
		}
		return !legacy && container == c.Name
	}
	for k := range s.Containers {
		if check(&s.Containers[k]) {
			return e
		}
	}
	for k := range s.InitContainers {
		c := &s.InitContainers[k]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			if check(c) {
				return e
			}
		}
	}
	if container != "" && !legacy {
		e.errKind = 2
		e.milli = 0
	}
	return e
}

// MissingRequests lists the containers of spec whose request for res the
// HPA controller (current release: pod-level requests honoured, native
// sidecars counted) finds missing when it computes utilisation: every app
// container and every restartable init container, or only the one named
// for a ContainerResource metric. Nil when the controller gets a request
// (from the containers or the pod-level resources), and when the named
// container is absent (that error is "container not found", not a missing
// request). Doctor and generate share this rule with Reconcile.
func MissingRequests(spec *corev1.PodSpec, res corev1.ResourceName, container string) []string {
	if spec == nil || computeRequest(spec, res, container, true, false).errKind != 1 {
		return nil
	}
	var miss []string
	check := func(c *corev1.Container) {
		if container != "" && c.Name != container {
			return
		}
		if _, ok := c.Resources.Requests[res]; !ok {
			miss = append(miss, c.Name)
		}
	}
	for k := range spec.Containers {
		check(&spec.Containers[k])
	}
	for k := range spec.InitContainers {
		if c := &spec.InitContainers[k]; c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			check(c)
		}
	}
	return miss
}
