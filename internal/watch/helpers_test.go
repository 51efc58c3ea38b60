package watch_test

import (
	"encoding/json"
	"io"
	"strconv"
)

func writeJSON(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }

func strconvF(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }
