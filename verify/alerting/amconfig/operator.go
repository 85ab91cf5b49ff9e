package main

import (
	"context"
	_ "unsafe" // for go:linkname

	"github.com/blang/semver/v4"

	// Imported for its exported ConfigBuilder (main.go) and for the two functions linked below.
	_ "github.com/prometheus-operator/prometheus-operator/pkg/alertmanager"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	"github.com/prometheus-operator/prometheus-operator/pkg/assets"
)

// The operator's own code for the two steps of provisionAlertmanagerConfiguration
// (pkg/alertmanager/operator.go) that its package does not export. Linking them by name keeps
// the operator's behaviour and error messages exactly, instead of a copy that drifts. The
// compiler cannot check a linked signature: TestLinkedSignatures compares these declarations
// with the operator's source of the version in go.mod, so a bump that changes them fails there.

// checkAlertmanagerConfigResource is what selectAlertmanagerConfigs runs on every selected
// AlertmanagerConfig: the semantic validation (receivers exist, matchers, URLs), the checks
// gated on the Alertmanager version, and the lookups of every referenced Secret key. The
// operator skips an object that fails it (a warning event), so its routes never reach the
// configuration.
//
//go:linkname checkAlertmanagerConfigResource github.com/prometheus-operator/prometheus-operator/pkg/alertmanager.checkAlertmanagerConfigResource
func checkAlertmanagerConfigResource(ctx context.Context, amc *monitoringv1alpha1.AlertmanagerConfig, amVersion semver.Version, store *assets.StoreBuilder) error

// defaultAlertmanagerConfiguration is the base configuration the operator starts from when the
// Alertmanager's config Secret does not exist: a root route to the receiver 'null'.
//
//go:linkname defaultAlertmanagerConfiguration github.com/prometheus-operator/prometheus-operator/pkg/alertmanager.defaultAlertmanagerConfiguration
func defaultAlertmanagerConfiguration() []byte
