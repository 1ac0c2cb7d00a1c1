package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/spec"
)

func newApplyCmd(g *globals) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Store an app's spec (YAML) under the name in its app: field",
		Long: `Stores the app spec in FILE under the name in its "app:" field; the next deployment uses it.
An invalid spec is refused: every problem is printed as "path: message (line N)" and the
exit status is 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, asJSON, err := g.session()
			if err != nil {
				return err
			}
			data, err := readSpec(file)
			if err != nil {
				return err
			}
			var head struct {
				App string `yaml:"app"`
			}
			if yaml.Unmarshal(data, &head) != nil || head.App == "" {
				// No name to store it under: let the server say everything that is wrong.
				v, err := validate(cmd.Context(), c, data)
				if err != nil {
					return err
				}
				if !v.Valid {
					return problemsExit(cmd.ErrOrStderr(), file, v.Problems)
				}
				return fmt.Errorf("%s: the spec has no app: field: add `app: NAME`", file)
			}
			a, err := c.Apply(cmd.Context(), head.App, data)
			var ae *api.Error
			if errors.As(err, &ae) && len(ae.Problems) > 0 {
				return problemsExit(cmd.ErrOrStderr(), file, ae.Problems)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), a)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "applied %s\n", a.Name)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the app spec (YAML); - reads stdin")
	g.addOutput(cmd)
	return cmd
}

func newValidateCmd(g *globals) *cobra.Command {
	var file, explain string
	cmd := &cobra.Command{
		Use:   "validate -f FILE | --explain FIELD",
		Short: "Check an app spec without storing it: exit 0 when valid, 1 when not",
		Long: `Check an app spec without storing it: exit 0 when valid, 1 when not.

--explain FIELD describes a field of the spec instead, as docs/spec.md does (its type,
default, meaning and an example), without a server: the paths are those problems name,
like traffic.alb.test_port or hooks[0].http.path; an object lists its fields, and
--explain "" lists the top level.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("explain") {
				if file != "" {
					return &exitError{code: ExitError, msg: "validate: use -f FILE or --explain FIELD, not both"}
				}
				text, err := spec.Explain(explain)
				if err != nil {
					return &exitError{code: ExitError, msg: err.Error()}
				}
				fmt.Fprint(cmd.OutOrStdout(), text)
				return nil
			}
			c, asJSON, err := g.session()
			if err != nil {
				return err
			}
			data, err := readSpec(file)
			if err != nil {
				return err
			}
			v, err := validate(cmd.Context(), c, data)
			if err != nil {
				return err
			}
			if asJSON {
				if err := printJSON(cmd.OutOrStdout(), v); err != nil {
					return err
				}
				if !v.Valid {
					return &exitError{code: ExitError}
				}
				return nil
			}
			if !v.Valid {
				return problemsExit(cmd.ErrOrStderr(), file, v.Problems)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (app %s)\n", file, v.App)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the app spec (YAML); - reads stdin")
	cmd.Flags().StringVar(&explain, "explain", "", "describe a spec field (like traffic.alb.test_port) instead of checking a file")
	g.addOutput(cmd)
	return cmd
}

func readSpec(file string) ([]byte, error) {
	switch file {
	case "":
		return nil, errors.New("give the spec with -f FILE")
	case "-":
		return io.ReadAll(os.Stdin)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read the spec: %w", err)
	}
	return data, nil
}

// validate asks the server to validate data. A spec refused whole (413: too large, or too
// many values once its aliases are followed) comes back as an invalid validation with the
// server's problem, so it prints like any other.
func validate(ctx context.Context, c *api.Client, data []byte) (api.Validation, error) {
	v, err := c.Validate(ctx, data)
	var ae *api.Error
	if errors.As(err, &ae) && len(ae.Problems) > 0 {
		return api.Validation{Valid: false, Problems: ae.Problems}, nil
	}
	return v, err
}

// problemsExit prints every problem, one a line, and ends with exit status 1.
func problemsExit(w io.Writer, file string, ps []api.Problem) error {
	for _, p := range ps {
		fmt.Fprintln(w, safe(formatProblem(p)))
	}
	return &exitError{code: ExitError, msg: fmt.Sprintf("%s is invalid: %d problem(s)", file, len(ps))}
}

func formatProblem(p api.Problem) string {
	s := p.Message
	if p.Path != "" {
		s = p.Path + ": " + s
	}
	if p.Line > 0 {
		s += fmt.Sprintf(" (line %d)", p.Line)
	}
	return s
}
