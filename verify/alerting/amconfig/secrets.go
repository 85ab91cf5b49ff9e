package main

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	amconfig "github.com/prometheus/alertmanager/config"
	"gopkg.in/yaml.v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
)

// Every referenced Secret key gets a sentinel: a value that marks its place in the generated
// configuration and names the key. The operator validates some keys as URLs (a webhook's
// urlSecret, Slack's and Discord's apiURL, MS Teams' webhookURL: every selector field whose
// name says URL), so those get a URL that can never resolve (.invalid, RFC 2606).
const (
	urlSentinel    = "http://qingyu-test-secret.invalid/" // + <secret>/<key>
	stringSentinel = "qingyu-test-secret:"                // + <secret>/<key>
)

// A Secret name is a DNS subdomain and a key [-._a-zA-Z0-9]+: neither holds a '/'.
var sentinelValue = regexp.MustCompile(`^(?:` + regexp.QuoteMeta(urlSentinel) + `|` + regexp.QuoteMeta(stringSentinel) + `)([^/]+)/([^/]+)$`)

var secretKeySelectorType = reflect.TypeFor[corev1.SecretKeySelector]()

// sentinelSecrets is a Secret for every one that the AlertmanagerConfigs reference, each key
// holding its sentinel. Selectors are found by type, so a receiver kind or field added by an
// operator bump needs no change here.
func sentinelSecrets(configs map[string]*monitoringv1alpha1.AlertmanagerConfig) []any {
	secrets := map[string]*corev1.Secret{}
	var out []any
	for _, amc := range configs {
		eachSecretKey(reflect.ValueOf(amc.Spec), "", func(field string, sel corev1.SecretKeySelector) {
			if sel.Name == "" || sel.Key == "" {
				return // left missing: the operator's lookup fails with its own error
			}
			id := amc.Namespace + "/" + sel.Name
			s, ok := secrets[id]
			if !ok {
				s = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: amc.Namespace, Name: sel.Name}, Data: map[string][]byte{}}
				secrets[id] = s
				out = append(out, s)
			}
			value := stringSentinel
			if strings.Contains(strings.ToLower(field), "url") {
				value = urlSentinel
			}
			s.Data[sel.Key] = []byte(value + sel.Name + "/" + sel.Key)
		})
	}
	return out
}

// cluster answers the operator's store for what is not in it (a Secret with no sentinel, a
// ConfigMap the dist does not hold) as the API server would: not found. The operator then fails
// with its own error.
type cluster struct{}

func (cluster) Secrets(string) typedcorev1.SecretInterface       { return missingSecrets{} }
func (cluster) ConfigMaps(string) typedcorev1.ConfigMapInterface { return missingConfigMaps{} }

// Only Get is called: the store reads, never writes (any other method would be a nil call).
type missingSecrets struct{ typedcorev1.SecretInterface }
type missingConfigMaps struct{ typedcorev1.ConfigMapInterface }

func (missingSecrets) Get(_ context.Context, name string, _ metav1.GetOptions) (*corev1.Secret, error) {
	return nil, notFound("secrets", name)
}

func (missingConfigMaps) Get(_ context.Context, name string, _ metav1.GetOptions) (*corev1.ConfigMap, error) {
	return nil, notFound("configmaps", name)
}

func notFound(resource, name string) error {
	if name == "" {
		return errors.New("resource name may not be empty")
	}
	return apierrors.NewNotFound(corev1.Resource(resource), name)
}

// eachSecretKey calls fn for every SecretKeySelector in v, with the JSON name of its field.
func eachSecretKey(v reflect.Value, field string, fn func(string, corev1.SecretKeySelector)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			eachSecretKey(v.Elem(), field, fn)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			eachSecretKey(v.Index(i), field, fn)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			eachSecretKey(v.MapIndex(k), field, fn)
		}
	case reflect.Struct:
		if v.Type() == secretKeySelectorType {
			fn(field, v.Interface().(corev1.SecretKeySelector))
			return
		}
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				eachSecretKey(v.Field(i), name, fn)
			}
		}
	}
}

// secretsAsFiles turns the generated configuration into the input of verify/alerting/run.sh,
// which takes secrets only as files it writes itself: every `X: <sentinel>` becomes
// `X_file: secrets/<secret>.<key>`, in place (the operator's order and formatting are kept).
// Alertmanager's own loader then proves that every X_file is a field it has.
func secretsAsFiles(generated []byte) ([]byte, error) {
	var cfg yaml.MapSlice
	if err := yaml.Unmarshal(generated, &cfg); err != nil {
		return nil, fmt.Errorf("reading the generated configuration: %w", err)
	}
	rewritten := map[string]string{} // X_file -> where, for the loader's error
	if err := rewriteSecrets(cfg, "", rewritten); err != nil {
		return nil, err
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := amconfig.Load(string(out)); err != nil {
		if m := regexp.MustCompile(`field (\w+_file) not found`).FindStringSubmatch(err.Error()); m != nil && rewritten[m[1]] != "" {
			return nil, fmt.Errorf("%s holds a Secret value, but Alertmanager has no %s to read it from a file, and run.sh takes secrets only as files: %w",
				rewritten[m[1]], m[1], err)
		}
		return nil, fmt.Errorf("the configuration with its secrets as files does not load in Alertmanager: %w", err)
	}
	return out, nil
}

func rewriteSecrets(node any, where string, rewritten map[string]string) error {
	switch n := node.(type) {
	case yaml.MapSlice:
		for i, item := range n {
			key := fmt.Sprint(item.Key)
			at := strings.TrimPrefix(where+"."+key, ".")
			s, isString := item.Value.(string)
			if m := sentinelValue.FindStringSubmatch(s); isString && m != nil {
				fileKey := key + "_file"
				for _, other := range n {
					if other.Key == fileKey {
						return fmt.Errorf("%s: holds a Secret value and %s is set too", at, fileKey)
					}
				}
				n[i] = yaml.MapItem{Key: fileKey, Value: "secrets/" + m[1] + "." + m[2]}
				rewritten[fileKey] = at
				continue
			}
			if isString && strings.HasSuffix(key, "_file") {
				// A file the operator mounts into the pod (TLS material): run.sh cannot write it.
				return fmt.Errorf("%s: %q is a file the operator mounts; run.sh provides only secrets/<name>", at, s)
			}
			if err := rewriteSecrets(item.Value, at, rewritten); err != nil {
				return err
			}
		}
	case []any:
		for i, v := range n {
			at := fmt.Sprintf("%s[%d]", where, i)
			if named, ok := v.(yaml.MapSlice); ok && len(named) > 0 && named[0].Key == "name" {
				at = fmt.Sprintf("%s[%v]", where, named[0].Value)
			}
			if err := rewriteSecrets(v, at, rewritten); err != nil {
				return err
			}
		}
	case string:
		if strings.Contains(n, strings.TrimSuffix(stringSentinel, ":")) {
			return fmt.Errorf("%s: holds a Secret value where no `field_file: path` can take its place", where)
		}
	}
	return nil
}
