// Command amconfig prints the alertmanager.yaml that the Prometheus Operator generates from the
// Alertmanager and AlertmanagerConfig objects of a synthesized dist/ directory. The operator's
// own package renders it (pkg/alertmanager's ConfigBuilder, the version in go.mod), called the
// way its reconcile loop calls it (provisionAlertmanagerConfiguration in operator.go), so the
// routing tests of verify/alerting run on what the cluster would run, not on a rewrite of it.
//
//	amconfig --dist DIR [--alertmanager-version 0.34.2] [--stack-namespace monitoring]
//
// Secret values cannot be had (and must not be): every referenced Secret key gets a sentinel
// value, and in the output each field holding one becomes its `*_file` form naming
// secrets/<secret>.<key>, the input format of verify/alerting/run.sh (secrets.go).
//
// Any error (an object the operator would reject, unreadable YAML, nothing to render) is one
// line on stderr and exit code 1; bad usage exits 2.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/blang/semver/v4"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/prometheus-operator/prometheus-operator/pkg/alertmanager"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	"github.com/prometheus-operator/prometheus-operator/pkg/assets"
)

// defaultAlertmanagerVersion is the default of --alertmanager-version; build.sh sets it to the
// ALERTMANAGER_VERSION the checks run (-ldflags -X), so the two cannot drift.
var defaultAlertmanagerVersion = "0.34.2"

type options struct {
	dist           string
	version        string
	stackNamespace string
}

func main() {
	var o options
	flag.StringVar(&o.dist, "dist", "", "directory of synthesized YAML: every *.yaml in it, multi-document (required)")
	flag.StringVar(&o.version, "alertmanager-version", defaultAlertmanagerVersion,
		"the Alertmanager version to render for, unless the Alertmanager resource sets spec.version")
	flag.StringVar(&o.stackNamespace, "stack-namespace", "monitoring",
		"namespace of the shared stack's Alertmanager, assumed when DIR holds no Alertmanager resource")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: amconfig --dist DIR [--alertmanager-version %s] [--stack-namespace monitoring]\n", defaultAlertmanagerVersion)
		flag.PrintDefaults()
	}
	flag.Parse()
	if o.dist == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	out, err := render(context.Background(), o, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		// One line: wrapped YAML errors span several.
		fmt.Fprintf(os.Stderr, "amconfig: %s\n", strings.Join(strings.Fields(err.Error()), " "))
		os.Exit(1)
	}
	os.Stdout.Write(out)
}

// render is provisionAlertmanagerConfiguration (pkg/alertmanager/operator.go) for an
// Alertmanager without a config Secret, over the objects of o.dist instead of the cluster's.
// The operator's warnings (fields it drops for the version, say) go to logger.
func render(ctx context.Context, o options, logger *slog.Logger) ([]byte, error) {
	d, err := readDist(o.dist)
	if err != nil {
		return nil, err
	}
	if len(d.configs) == 0 {
		return nil, fmt.Errorf("no AlertmanagerConfig (monitoring.coreos.com/v1alpha1) in %s", o.dist)
	}
	am, err := d.alertmanager(o.stackNamespace)
	if err != nil {
		return nil, err
	}

	// The operator's version handling: spec.version, else its default (here the flag).
	amVersion := am.Spec.Version
	if amVersion == "" {
		amVersion = o.version
	}
	version, err := semver.ParseTolerant(amVersion)
	if err != nil {
		return nil, fmt.Errorf("failed to parse alertmanager version: %w", err)
	}
	if version.LT(semver.MustParse("0.15.0")) || version.Major > 0 {
		return nil, fmt.Errorf("unsupported Alertmanager version %q", amVersion)
	}

	selected, err := d.selectConfigs(am)
	if err != nil {
		return nil, err
	}
	// The operator's view of the cluster's ConfigMaps and Secrets: the dist's ConfigMaps, a
	// sentinel for every Secret key the selected objects reference, nothing else.
	store := assets.NewStoreBuilder(cluster{}, cluster{})
	for _, obj := range append(d.configMaps, sentinelSecrets(selected)...) {
		if err := store.AddObject(obj); err != nil {
			return nil, err
		}
	}
	// The operator skips (with a warning event) an AlertmanagerConfig that fails this check; here
	// that is an error, in the words of the operator's event.
	for _, key := range sortedKeys(selected) {
		if err := checkAlertmanagerConfigResource(ctx, selected[key], version, store); err != nil {
			return nil, fmt.Errorf("AlertmanagerConfig %s was rejected due to invalid configuration: %w", key, err)
		}
	}

	builder := alertmanager.NewConfigBuilder(logger, version, store, am)
	if err := builder.InitializeFromRawConfiguration(defaultAlertmanagerConfiguration()); err != nil {
		return nil, fmt.Errorf("failed to initialize from secret: %w", err)
	}
	if err := builder.AddAlertmanagerConfigs(ctx, selected); err != nil {
		return nil, fmt.Errorf("failed to generate Alertmanager configuration: %w", err)
	}
	generated, err := builder.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("failed to marshal configuration: %w", err)
	}
	return secretsAsFiles(generated)
}

// dist holds the objects of a dist/ directory that decide the Alertmanager configuration.
type dist struct {
	dir           string
	configs       []*monitoringv1alpha1.AlertmanagerConfig
	alertmanagers []*monitoringv1.Alertmanager
	namespaces    map[string]map[string]string // name -> labels, of the Namespace objects
	secrets       map[string]bool              // "namespace/name" of the Secret objects
	configMaps    []any                        // as the cluster will have them (the operator reads some)
}

func readDist(dir string) (*dist, error) {
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("--dist %s: not a directory", dir)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.yaml file in %s", dir)
	}
	d := &dist{dir: dir, namespaces: map[string]map[string]string{}, secrets: map[string]bool{}}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for i := 1; ; i++ {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err == nil {
				err = d.add(doc)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: document %d: %w", file, i, err)
			}
		}
	}
	return d, nil
}

func (d *dist) add(doc []byte) error {
	var head struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ObjectMeta `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return err
	}
	id := head.Kind + " " + head.Metadata.Namespace + "/" + head.Metadata.Name
	group, _, _ := strings.Cut(head.APIVersion, "/")
	switch {
	case head.Kind == monitoringv1alpha1.AlertmanagerConfigKind && group == monitoringv1.SchemeGroupVersion.Group:
		if head.APIVersion != monitoringv1alpha1.SchemeGroupVersion.String() {
			return fmt.Errorf("%s: apiVersion %s: amconfig reads %s", id, head.APIVersion, monitoringv1alpha1.SchemeGroupVersion)
		}
		amc := &monitoringv1alpha1.AlertmanagerConfig{}
		if err := decodeStrict(doc, amc); err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		if amc.Namespace == "" {
			return fmt.Errorf("%s: no metadata.namespace (the operator selects by namespace)", id)
		}
		for _, other := range d.configs {
			if other.Namespace == amc.Namespace && other.Name == amc.Name {
				return fmt.Errorf("%s: defined twice", id)
			}
		}
		d.configs = append(d.configs, amc)
	case head.Kind == monitoringv1.AlertmanagersKind && head.APIVersion == monitoringv1.SchemeGroupVersion.String():
		am := &monitoringv1.Alertmanager{}
		if err := decodeStrict(doc, am); err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		if am.Namespace == "" {
			return fmt.Errorf("%s: no metadata.namespace", id)
		}
		d.alertmanagers = append(d.alertmanagers, am)
	case head.Kind == "Namespace" && head.APIVersion == "v1":
		d.namespaces[head.Metadata.Name] = head.Metadata.Labels
	case head.Kind == "ConfigMap" && head.APIVersion == "v1":
		cm := &corev1.ConfigMap{}
		if err := decodeStrict(doc, cm); err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		d.configMaps = append(d.configMaps, cm)
	case head.Kind == "Secret" && head.APIVersion == "v1":
		d.secrets[head.Metadata.Namespace+"/"+head.Metadata.Name] = true
	}
	return nil
}

// decodeStrict decodes a document as the API server does for `kubectl apply` (field validation
// Strict): field names are case-sensitive (unlike encoding/json), and an unknown or duplicate
// field is an error. A misspelt field fails here instead of becoming a receiver without a URL.
func decodeStrict(doc []byte, into any) error {
	data, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(data, into, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// alertmanager is the Alertmanager resource of the dist (own mode) or, when it has none, the
// shared stack's (kube-prometheus-stack mode): in stackNamespace, the default matcher strategy,
// selecting every AlertmanagerConfig of every namespace, no base configuration of its own.
func (d *dist) alertmanager(stackNamespace string) (*monitoringv1.Alertmanager, error) {
	switch len(d.alertmanagers) {
	case 0:
		return &monitoringv1.Alertmanager{
			ObjectMeta: metav1.ObjectMeta{Name: "stack", Namespace: stackNamespace},
			Spec: monitoringv1.AlertmanagerSpec{
				AlertmanagerConfigSelector:          &metav1.LabelSelector{},
				AlertmanagerConfigNamespaceSelector: &metav1.LabelSelector{},
			},
		}, nil
	case 1:
	default:
		names := make([]string, 0, len(d.alertmanagers))
		for _, am := range d.alertmanagers {
			names = append(names, am.Namespace+"/"+am.Name)
		}
		return nil, fmt.Errorf("%d Alertmanager resources in %s (%s); amconfig renders one", len(names), d.dir, strings.Join(names, ", "))
	}
	am := d.alertmanagers[0]
	id := "Alertmanager " + am.Namespace + "/" + am.Name
	switch am.Spec.AlertmanagerConfigMatcherStrategy.Type {
	case "", monitoringv1.OnNamespaceConfigMatcherStrategyType,
		monitoringv1.OnNamespaceExceptForAlertmanagerNamespaceConfigMatcherStrategyType, monitoringv1.NoneConfigMatcherStrategyType:
	default:
		return nil, fmt.Errorf("%s: unknown alertmanagerConfigMatcherStrategy.type %q", id, am.Spec.AlertmanagerConfigMatcherStrategy.Type)
	}
	// What amconfig does not render, rather than render something else.
	if am.Spec.AlertmanagerConfiguration != nil {
		return nil, fmt.Errorf("%s: spec.alertmanagerConfiguration is not supported (amconfig starts from the operator's default configuration)", id)
	}
	if am.Spec.AlertmanagerConfigSelector == nil {
		return nil, fmt.Errorf("%s: no spec.alertmanagerConfigSelector: the operator would use its config Secret as it is and ignore every AlertmanagerConfig", id)
	}
	configSecret := am.Spec.ConfigSecret
	if configSecret == "" {
		configSecret = "alertmanager-" + am.Name
	}
	if d.secrets[am.Namespace+"/"+configSecret] {
		return nil, fmt.Errorf("%s: its config Secret %s is in %s; amconfig renders only from the operator's default configuration", id, configSecret, d.dir)
	}
	return am, nil
}

// selectConfigs is the selection of selectAlertmanagerConfigs (pkg/alertmanager/operator.go):
// the Alertmanager's own namespace, or the namespaces its alertmanagerConfigNamespaceSelector
// matches, and there the AlertmanagerConfigs its alertmanagerConfigSelector matches, keyed
// "namespace/name". The namespaces are those the dist names (their labels from its Namespace
// objects, if any, plus kubernetes.io/metadata.name, which the API server sets on every one).
func (d *dist) selectConfigs(am *monitoringv1.Alertmanager) (map[string]*monitoringv1alpha1.AlertmanagerConfig, error) {
	namespaces := []string{am.Namespace}
	if am.Spec.AlertmanagerConfigNamespaceSelector != nil {
		nsSelector, err := metav1.LabelSelectorAsSelector(am.Spec.AlertmanagerConfigNamespaceSelector)
		if err != nil {
			return nil, err
		}
		known := map[string]labels.Set{am.Namespace: nil}
		for name, l := range d.namespaces {
			known[name] = l
		}
		for _, amc := range d.configs {
			known[amc.Namespace] = d.namespaces[amc.Namespace]
		}
		namespaces = nil
		for name, l := range known {
			l = labels.Merge(l, labels.Set{corev1.LabelMetadataName: name})
			if nsSelector.Matches(l) {
				namespaces = append(namespaces, name)
			}
		}
	}
	selector, err := metav1.LabelSelectorAsSelector(am.Spec.AlertmanagerConfigSelector)
	if err != nil {
		return nil, err
	}
	selected := map[string]*monitoringv1alpha1.AlertmanagerConfig{}
	var ignored []string
	for _, amc := range d.configs {
		key := amc.Namespace + "/" + amc.Name
		if slices.Contains(namespaces, amc.Namespace) && selector.Matches(labels.Set(amc.Labels)) {
			selected[key] = amc
		} else {
			ignored = append(ignored, key)
		}
	}
	if len(selected) == 0 {
		return nil, fmt.Errorf("Alertmanager %s/%s selects none of the AlertmanagerConfigs in %s (%s)",
			am.Namespace, am.Name, d.dir, strings.Join(ignored, ", "))
	}
	for _, key := range ignored {
		fmt.Fprintf(os.Stderr, "amconfig: note: Alertmanager %s/%s does not select AlertmanagerConfig %s\n", am.Namespace, am.Name, key)
	}
	return selected, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
