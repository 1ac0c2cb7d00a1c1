package spec

import (
	"maps"
	"slices"
	"strings"
)

// Mask stands for a secret value wherever cutover shows a spec, or output that held one.
const Mask = "******"

// MinMaskLen is the shortest secret value a Masker looks for in free text. Shorter values
// are still replaced in a Redacted spec, but searching text for them would mask ordinary
// words and numbers and tell more about the secret than it hides.
const MinMaskLen = 4

// secretNames is the set of the run's env names listed in its secret_env
// (run.process.secret_env or run.docker.secret_env).
func (a *App) secretNames() map[string]bool {
	names := map[string]bool{}
	for _, n := range a.Run.SecretEnv() {
		names[n] = true
	}
	return names
}

// hookSecret reports whether name is secret in command hook x: listed in its own secret_env
// or in the run's secret_env (runSecret).
func hookSecret(x *CommandHook, name string, runSecret map[string]bool) bool {
	return runSecret[name] || slices.Contains(x.SecretEnv, name)
}

// Redacted returns a copy of a in which the value of every secret variable is Mask: the
// run.process.env (or run.docker.env) names listed in run.process.secret_env (or
// run.docker.secret_env), and a command hook's env names listed in its own secret_env or in
// the run's. It is what every outward path (the API, the CLI, logs) shows of a spec; a
// itself, the stored spec and the instances' environment keep the real values.
//
// a is not changed. The copy has its own run.process, run.docker, hooks and env maps, the
// only parts it changes; the other fields share their maps and slices with a, so treat it
// as read-only.
func (a *App) Redacted() *App {
	out := *a
	secret := a.secretNames()
	if p := a.Run.Process; p != nil {
		cp := *p
		cp.Env = maskValues(p.Env, func(name string) bool { return secret[name] })
		cp.Command = slices.Clone(p.Command)
		cp.SecretEnv = slices.Clone(p.SecretEnv)
		out.Run.Process = &cp
	}
	if d := a.Run.Docker; d != nil {
		cp := *d
		cp.Env = maskValues(d.Env, func(name string) bool { return secret[name] })
		cp.Command = slices.Clone(d.Command)
		cp.Entrypoint = slices.Clone(d.Entrypoint)
		cp.SecretEnv = slices.Clone(d.SecretEnv)
		if d.Build != nil {
			b := *d.Build
			cp.Build = &b
		}
		out.Run.Docker = &cp
	}
	if p := a.Pipeline; p != nil {
		cp := *p
		cp.Build.Env = maskValues(p.Build.Env, func(name string) bool { return slices.Contains(p.Build.SecretEnv, name) })
		if p.Webhook != nil {
			cp.Webhook = &PushWebhook{Secret: Mask}
		}
		out.Pipeline = &cp
	}
	if a.Hooks != nil {
		out.Hooks = slices.Clone(a.Hooks)
		for i := range out.Hooks {
			x := out.Hooks[i].Command
			if x == nil {
				continue
			}
			cp := *x
			cp.Env = maskValues(x.Env, func(name string) bool { return hookSecret(x, name, secret) })
			cp.Argv = slices.Clone(x.Argv)
			cp.SecretEnv = slices.Clone(x.SecretEnv)
			out.Hooks[i].Command = &cp
		}
	}
	return &out
}

// maskValues copies env with the values of secret names replaced by Mask.
func maskValues(env map[string]string, secret func(string) bool) map[string]string {
	if env == nil {
		return nil
	}
	out := maps.Clone(env)
	for name := range out {
		if secret(name) {
			out[name] = Mask
		}
	}
	return out
}

// Secrets returns the values of a's secret variables (see Redacted), without duplicates.
func (a *App) Secrets() []string {
	var out []string
	add := func(v string) {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	secret := a.secretNames()
	env := a.Run.Env()
	for _, name := range a.Run.SecretEnv() {
		add(env[name])
	}
	if p := a.Pipeline; p != nil {
		for _, name := range p.Build.SecretEnv {
			add(p.Build.Env[name])
		}
		if p.Webhook != nil {
			add(p.Webhook.Secret)
		}
	}
	for _, h := range a.Hooks {
		if x := h.Command; x != nil {
			for name, v := range x.Env {
				if hookSecret(x, name, secret) {
					add(v)
				}
			}
		}
	}
	return out
}

// Masker replaces secret values in free text, such as a hook's output or an instance's log
// lines. The zero Masker changes nothing.
type Masker struct {
	r *strings.Replacer
}

// NewMasker masks the secrets of every app given (nil ones are skipped), for output that may
// come from any of them: the current spec and the releases of one app, say. Values shorter
// than MinMaskLen are left alone (see there).
func NewMasker(apps ...*App) Masker {
	var secrets []string
	for _, a := range apps {
		if a == nil {
			continue
		}
		for _, v := range a.Secrets() {
			if len(v) >= MinMaskLen && !slices.Contains(secrets, v) {
				secrets = append(secrets, v)
			}
		}
	}
	if len(secrets) == 0 {
		return Masker{}
	}
	// The replacer tries its pairs in order at each position: longest first, so a secret
	// that contains another is masked whole.
	slices.SortFunc(secrets, func(x, y string) int { return len(y) - len(x) })
	pairs := make([]string, 0, 2*len(secrets))
	for _, v := range secrets {
		pairs = append(pairs, v, Mask)
	}
	return Masker{r: strings.NewReplacer(pairs...)}
}

// Mask returns s with every secret value in it replaced by Mask.
func (m Masker) Mask(s string) string {
	if m.r == nil {
		return s
	}
	return m.r.Replace(s)
}
