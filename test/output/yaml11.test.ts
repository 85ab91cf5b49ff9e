import { ALL_OUTPUTS, synthesize } from '../support/synth';

// Tools built on PyYAML (checkov) read YAML 1.1, where some plain scalars are tags or
// booleans: a bare `=` is the `value` tag (PyYAML refuses the whole file), `yes`/`no`/`on`/`off`
// are booleans. The output must mean the same in YAML 1.1 and 1.2: such values are quoted.
const YAML11_SPECIAL = /^\s*(?:- )?(?:[^\s:#][^:#]*: )?(=|yes|no|on|off|y|n|Yes|No|On|Off|YES|NO|ON|OFF)$/;

test.each(ALL_OUTPUTS)('%s has no plain scalar that YAML 1.1 reads differently', (output) => {
  for (const f of synthesize(output).files) {
    const bad = f.yaml.split('\n').filter((line) => YAML11_SPECIAL.test(line) && !line.trimStart().startsWith('#'));
    expect([f.name, bad]).toEqual([f.name, []]);
  }
});
