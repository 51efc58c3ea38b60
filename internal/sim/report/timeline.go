package report

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/mlscale/mlscale/internal/sim"
)

// WriteTimelineCSV writes the timeline with a header row. Latency columns
// are empty in steps without completions.
func WriteTimelineCSV(w io.Writer, tl *sim.Timeline) error {
	if tl == nil {
		return fmt.Errorf("no timeline recorded")
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(strings.Join(tl.Columns, ",") + "\n")
	buf := make([]byte, 0, 32)
	for _, row := range tl.Rows {
		for i, v := range row {
			if i > 0 {
				bw.WriteByte(',')
			}
			if math.IsNaN(v) {
				continue
			}
			buf = strconv.AppendFloat(buf[:0], v, 'g', 6, 64)
			bw.Write(buf)
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// column returns the index of a timeline column, -1 if absent.
func column(tl *sim.Timeline, name string) int {
	for i, c := range tl.Columns {
		if c == name {
			return i
		}
	}
	return -1
}
