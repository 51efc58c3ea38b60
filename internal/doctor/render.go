package doctor

import (
	"encoding/xml"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/mlscale/mlscale/internal/output"
)

// Formats Render accepts. SARIF needs file locations, so it is for the
// offline mode only.
var Formats = []string{"table", "json", "junit", "markdown", "sarif"}

// RenderOptions tune the renderers.
type RenderOptions struct {
	// FailOn is the lowest severity JUnit reports as a failure (zero:
	// Error); lower findings are passing test cases with their text.
	FailOn Severity
	// Version is mlscale's version, for SARIF's tool.driver.version.
	Version string
}

// Render writes the report in format.
func Render(w io.Writer, format string, r *Report, o RenderOptions) error {
	switch format {
	case "table", "":
		return renderTable(w, r)
	case "json":
		return output.WriteJSON(w, r)
	case "junit":
		return renderJUnit(w, r, o)
	case "markdown":
		return renderMarkdown(w, r)
	case "sarif":
		if r.Mode != "offline" {
			return fmt.Errorf("-o sarif needs file locations: use it with -f (offline mode)")
		}
		return renderSARIF(w, r, o)
	}
	return fmt.Errorf("unknown format %q (want one of: %s)", format, strings.Join(Formats, ", "))
}

func where(f *Finding) string {
	if f.Location == nil {
		return ""
	}
	s := f.Location.File
	if f.Location.Line > 0 {
		s += fmt.Sprintf(":%d", f.Location.Line)
	}
	return s
}

func renderTable(w io.Writer, r *Report) error {
	if r.Cluster != nil {
		c := r.Cluster
		fmt.Fprintf(w, "Cluster: %s", orDefault(c.Context, orDefault(c.Server, "(in-cluster)")))
		if c.ServerVersion != "" {
			fmt.Fprintf(w, " (%s)", c.ServerVersion)
		}
		fmt.Fprintf(w, ", namespace: %s\n\n", orDefault(c.Namespace, "(all)"))
	}
	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "No problems found.")
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		loc := ""
		if l := where(f); l != "" {
			loc = " (" + l + ")"
		}
		fmt.Fprintf(w, "%-7s %-8s %s%s\n", strings.ToUpper(f.Severity.String()), f.ID, f.Object, loc)
		fmt.Fprintf(w, "  %s: %s\n", f.Title, f.Summary)
		if f.Message != "" {
			fmt.Fprintf(w, "  %s: %q\n", messageLabel(r.Mode), f.Message)
		}
		for _, c := range f.Evidence.Conditions {
			if c.Message != f.Message {
				fmt.Fprintf(w, "  Condition: %s=%s %s: %q\n", c.Type, c.Status, c.Reason, c.Message)
			}
		}
		for _, e := range f.Evidence.Events {
			if e.Message != f.Message {
				fmt.Fprintf(w, "  Event: %s %s: %q\n", e.Type, e.Reason, e.Message)
			}
		}
		if p := f.Evidence.Probe; p != nil {
			fmt.Fprintf(w, "  Probe: GET %s", p.Path)
			if p.HTTPStatus != 0 {
				fmt.Fprintf(w, " -> %d", p.HTTPStatus)
			}
			if p.Error != "" && p.Error != f.Message {
				fmt.Fprintf(w, ": %s", p.Error)
			}
			fmt.Fprintln(w)
		}
		for _, s := range f.Evidence.Facts {
			fmt.Fprintf(w, "  Note: %s\n", s)
		}
		fmt.Fprintf(w, "  Fix: %s\n", f.Remediation)
		if len(f.Docs) > 0 {
			fmt.Fprintf(w, "  Docs: %s\n", f.Docs[0])
		}
		fmt.Fprintln(w)
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintln(w, "Skipped checks (could not run):")
		tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		for _, s := range r.Skipped {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.ID, s.Reason, s.Detail)
		}
		_ = tw.Flush()
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%d error(s), %d warning(s), %d info, %d skipped\n", r.Summary.Error, r.Summary.Warning, r.Summary.Info, r.Summary.Skipped)
	return nil
}

// messageLabel introduces Finding.Message: a controller's words in live
// mode; in offline mode, the error the API server or KEDA gives for the
// object as written.
func messageLabel(mode string) string {
	if mode == "offline" {
		return "Rejected with"
	}
	return "Controller says"
}

func renderMarkdown(w io.Writer, r *Report) error {
	fmt.Fprintln(w, "## mlscale doctor")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "**%d error(s), %d warning(s), %d info, %d skipped**\n\n", r.Summary.Error, r.Summary.Warning, r.Summary.Info, r.Summary.Skipped)
	if len(r.Findings) > 0 {
		fmt.Fprintf(w, "| Severity | Check | Object | Summary | %s |\n", messageLabel(r.Mode))
		fmt.Fprintln(w, "|---|---|---|---|---|")
		for i := range r.Findings {
			f := &r.Findings[i]
			obj := mdCell(f.Object.String())
			if l := where(f); l != "" {
				obj += " (`" + mdCell(l) + "`)"
			}
			msg := ""
			if f.Message != "" {
				msg = "`" + mdCell(f.Message) + "`"
			}
			fmt.Fprintf(w, "| %s | [%s](%s) | %s | %s | %s |\n", f.Severity, f.ID, docsAnchor(f.ID), obj, mdCell(f.Summary), msg)
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "### Fixes")
		fmt.Fprintln(w)
		seen := map[string]bool{}
		for _, f := range r.Findings {
			if seen[f.ID] {
				continue
			}
			seen[f.ID] = true
			fmt.Fprintf(w, "- **%s %s**: %s\n", f.ID, f.Title, f.Remediation)
		}
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "### Skipped checks")
		fmt.Fprintln(w)
		for _, s := range r.Skipped {
			fmt.Fprintf(w, "- %s (%s): %s\n", s.ID, s.Reason, mdCell(s.Detail))
		}
	}
	return nil
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	s = strings.ReplaceAll(s, "`", "'")
	return strings.ReplaceAll(s, "\n", " ")
}

// JUnit: one testsuite per check family, one testcase per (check, object).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

func family(id string) string {
	f, _, _ := strings.Cut(id, "-")
	return f
}

func findingText(f *Finding, mode string) string {
	var b strings.Builder
	b.WriteString(f.Summary + "\n")
	if l := where(f); l != "" {
		b.WriteString("Location: " + l + "\n")
	}
	if f.Message != "" {
		b.WriteString(messageLabel(mode) + ": " + f.Message + "\n")
	}
	b.WriteString("Fix: " + f.Remediation + "\n")
	if len(f.Docs) > 0 {
		b.WriteString("Docs: " + f.Docs[0] + "\n")
	}
	return b.String()
}

func renderJUnit(w io.Writer, r *Report, o RenderOptions) error {
	failOn := o.FailOn
	if failOn == 0 {
		failOn = Error
	}
	suites := map[string]*junitSuite{}
	var order []string
	suite := func(id string) *junitSuite {
		fam := family(id)
		s := suites[fam]
		if s == nil {
			s = &junitSuite{Name: "mlscale doctor " + fam}
			suites[fam] = s
			order = append(order, fam)
		}
		return s
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		s := suite(f.ID)
		c := junitCase{Name: f.ID + " " + f.Object.String(), Classname: "doctor." + f.ID}
		if f.Location != nil {
			c.File, c.Line = f.Location.File, f.Location.Line
		}
		if f.Severity >= failOn {
			c.Failure = &junitFailure{Message: f.Title + ": " + f.Summary, Type: f.Severity.String(), Text: findingText(f, r.Mode)}
			s.Failures++
		} else {
			c.SystemOut = f.Severity.String() + ": " + findingText(f, r.Mode)
		}
		s.Tests++
		s.Cases = append(s.Cases, c)
	}
	for _, sk := range r.Skipped {
		s := suite(sk.ID)
		name := sk.ID
		if sk.Object != nil {
			name += " " + sk.Object.String()
		}
		s.Cases = append(s.Cases, junitCase{Name: name, Classname: "doctor." + sk.ID, Skipped: &junitSkipped{Message: string(sk.Reason) + ": " + sk.Detail}})
		s.Tests++
		s.Skipped++
	}
	out := junitSuites{Name: "mlscale doctor"}
	for _, fam := range sortedFamilies(order) {
		s := suites[fam]
		out.Suites = append(out.Suites, *s)
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Skipped += s.Skipped
	}
	if len(out.Suites) == 0 {
		// A passing run still shows up in CI: one suite, one passing case.
		out.Suites = []junitSuite{{Name: "mlscale doctor", Tests: 1, Cases: []junitCase{{Name: "no problems found", Classname: "doctor"}}}}
		out.Tests = 1
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func sortedFamilies(order []string) []string {
	rank := map[string]int{"ACC": 0, "API": 1, "HPA": 2, "RES": 3, "CUS": 4, "KEDA": 5}
	out := append([]string(nil), order...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && rank[out[j]] < rank[out[j-1]]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// SARIF 2.1.0, minimal: one rule per check ID used, one result per finding
// with its physical location.
func renderSARIF(w io.Writer, r *Report, o RenderOptions) error {
	type msg struct {
		Text string `json:"text"`
	}
	type region struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn,omitempty"`
	}
	type artifact struct {
		URI string `json:"uri"`
	}
	type physical struct {
		ArtifactLocation artifact `json:"artifactLocation"`
		Region           *region  `json:"region,omitempty"`
	}
	type location struct {
		PhysicalLocation physical `json:"physicalLocation"`
	}
	type result struct {
		RuleID    string     `json:"ruleId"`
		Level     string     `json:"level"`
		Message   msg        `json:"message"`
		Locations []location `json:"locations"`
	}
	type rule struct {
		ID               string `json:"id"`
		Name             string `json:"name"`
		ShortDescription msg    `json:"shortDescription"`
		Help             msg    `json:"help"`
		HelpURI          string `json:"helpUri"`
	}
	type driver struct {
		Name           string `json:"name"`
		Version        string `json:"version,omitempty"`
		InformationURI string `json:"informationUri"`
		Rules          []rule `json:"rules"`
	}
	type run struct {
		Tool struct {
			Driver driver `json:"driver"`
		} `json:"tool"`
		Results []result `json:"results"`
	}
	type log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []run  `json:"runs"`
	}
	var rn run
	rn.Tool.Driver = driver{Name: "mlscale doctor", Version: o.Version, InformationURI: DocsURL}
	rn.Results = []result{}
	rules := map[string]bool{}
	for i := range r.Findings {
		f := &r.Findings[i]
		if !rules[f.ID] {
			rules[f.ID] = true
			rn.Tool.Driver.Rules = append(rn.Tool.Driver.Rules, rule{ID: f.ID, Name: strings.ReplaceAll(f.Title, " ", ""), ShortDescription: msg{f.Title}, Help: msg{f.Remediation}, HelpURI: docsAnchor(f.ID)})
		}
		level := map[Severity]string{Error: "error", Warning: "warning", Info: "note"}[f.Severity]
		text := f.Object.String() + ": " + f.Summary
		if f.Message != "" {
			text += " (" + f.Message + ")"
		}
		res := result{RuleID: f.ID, Level: level, Message: msg{text}}
		if f.Location != nil {
			p := physical{ArtifactLocation: artifact{URI: filepath.ToSlash(f.Location.File)}}
			if f.Location.Line > 0 {
				p.Region = &region{StartLine: f.Location.Line, StartColumn: f.Location.Column}
			}
			res.Locations = []location{{PhysicalLocation: p}}
		} else {
			res.Locations = []location{}
		}
		rn.Results = append(rn.Results, res)
	}
	if rn.Tool.Driver.Rules == nil {
		rn.Tool.Driver.Rules = []rule{}
	}
	return output.WriteJSON(w, log{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []run{rn}})
}
