package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/charmbracelet/huh"

	"github.com/mlscale/mlscale/internal/iostreams"
	"github.com/mlscale/mlscale/internal/profile"
)

// presetDescriptions label the presets in the form.
var presetDescriptions = map[string]string{
	"llm-inference":    "LLM server on a GPU, HPA on requests waiting",
	"vision-inference": "image model on a T4, HPA on GPU utilisation and CPU",
	"embedding":        "small model, many replicas, HPA on CPU and queue size",
	"batch-queue":      "queue worker, KEDA on RabbitMQ, scales to zero",
}

// runInitForm asks init's questions (the same as its flags, with the same
// defaults) with a bubbletea form. With ACCESSIBLE set or TERM=dumb it asks
// them as plain line prompts, which also makes it scriptable.
func runInitForm(ctx context.Context, ios *iostreams.IOStreams, answers profile.InitOptions) (profile.InitOptions, error) {
	if answers.Preset == "" {
		answers.Preset = profile.DefaultPreset
	}
	var opts []huh.Option[string]
	for _, p := range profile.Presets() {
		label := p
		if d := presetDescriptions[p]; d != "" {
			label = p + " — " + d
		}
		opts = append(opts, huh.NewOption(label, p))
	}
	gpus, min, max := optionalInt(answers.GPUs), optionalInt(int64(answers.Min)), optionalInt(int64(answers.Max))
	intOrEmpty := func(s string) error {
		if s == "" {
			return nil
		}
		if n, err := strconv.Atoi(s); err != nil || n < 0 {
			return errors.New("enter a whole number, or leave empty for the preset's value")
		}
		return nil
	}
	form := huh.NewForm(
		huh.NewGroup(
			huh.NewSelect[string]().Title("Workload type (preset)").Options(opts...).Value(&answers.Preset),
			huh.NewInput().Title("Name").Description("empty: the preset's").Value(&answers.Name),
			huh.NewInput().Title("Namespace").Description("empty: the preset's").Value(&answers.Namespace),
			huh.NewInput().Title("Container image").Description("empty: the preset's").Value(&answers.Image),
		),
		huh.NewGroup(
			huh.NewInput().Title("GPUs per replica").Description("empty: the preset's").Value(&gpus).Validate(intOrEmpty),
			huh.NewInput().Title("Minimum replicas").Description("empty: the preset's").Value(&min).Validate(intOrEmpty),
			huh.NewInput().Title("Maximum replicas").Description("empty: the preset's").Value(&max).Validate(intOrEmpty),
		),
	).WithInput(ios.In).WithOutput(ios.Out).
		WithAccessible(ios.Getenv("ACCESSIBLE") != "" || ios.Getenv("TERM") == "dumb")
	if err := form.RunWithContext(ctx); err != nil {
		if errors.Is(err, huh.ErrUserAborted) {
			return answers, fmt.Errorf("%w: init cancelled", errInterrupted)
		}
		return answers, err
	}
	answers.GPUs = parseOptional(gpus)
	answers.Min = int32(parseOptional(min))
	answers.Max = int32(parseOptional(max))
	return answers, nil
}

func optionalInt(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

func parseOptional(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
