# Turns `go test -bench -benchmem` output into an aligned table.
/^pkg:/ { pkg = $2 }
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	ns = ""; bop = ""; aop = ""; extra = ""
	for (i = 3; i < NF; i += 2) {
		if ($(i+1) == "ns/op") ns = $i
		else if ($(i+1) == "B/op") bop = $i
		else if ($(i+1) == "allocs/op") aop = $i
		else extra = extra sprintf("%s %s  ", $i, $(i+1))
	}
	rows[++n] = sprintf("%-72s %14s %10s %10s  %s", pkg "." name, ns, bop, aop, extra)
}
END {
	printf "%-72s %14s %10s %10s  %s\n", "BENCHMARK", "NS/OP", "B/OP", "ALLOCS/OP", "OTHER"
	for (i = 1; i <= n; i++) print rows[i]
}
