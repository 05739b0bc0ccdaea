package main

// Client-side commands (ingest, stats, report, and workspace over the admin API) talk to a server through package
// client. This file holds the helpers they share: flag sets that read CAMPAIGNSTATS_* variables, flag types, error
// and JSON output. Every helper name starts with "clientCLI" to stay clear of the other files of package main.

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/campaignstats/campaignstats/client"
)

const (
	clientCLIDefaultServer = "http://localhost:8080"
	clientCLIUserAgent     = "campaignstats-cli"
	clientCLIEnvPrefix     = "CAMPAIGNSTATS_"
)

// clientCLIFlagSet returns a FlagSet that reports to stderr and prints usage followed by the flag defaults.
func clientCLIFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

// clientCLIParse parses args allowing flags after positional arguments ("get ID --name x"; "--" ends flags), then
// fills every flag not given on the command line from CAMPAIGNSTATS_<FLAG> (upper-case, "-" → "_"). It returns the
// positional arguments, or ok=false with the exit code (0 for -h, 2 for a usage error).
func clientCLIParse(fs *flag.FlagSet, args []string, getenv func(string) string, stderr io.Writer) (pos []string, code int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0, false
			}
			return nil, 2, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if err := clientCLIApplyEnv(fs, getenv); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		return nil, 2, false
	}
	return pos, 0, true
}

// clientCLIApplyEnv sets every flag of fs that was not set on the command line from its CAMPAIGNSTATS_* variable.
func clientCLIApplyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	if getenv == nil {
		return nil
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var firstErr error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || firstErr != nil {
			return
		}
		env := clientCLIEnvPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v := getenv(env)
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			firstErr = fmt.Errorf("invalid value %q for %s: %v", v, env, err)
		}
	})
	return firstErr
}

// clientCLIFlagWasSet reports whether the flag was set on the command line or from the environment.
func clientCLIFlagWasSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}

func clientCLINew(server string) *client.Client {
	return client.New(server, client.WithUserAgent(clientCLIUserAgent))
}

// clientCLIPrintError writes an API error's body exactly as received (plus a newline), else the error text.
func clientCLIPrintError(stderr io.Writer, prefix string, err error) {
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		body := bytes.TrimRight(apiErr.Body, "\r\n")
		if len(body) == 0 {
			fmt.Fprintf(stderr, "%sHTTP %d\n", prefix, apiErr.Status)
			return
		}
		fmt.Fprintf(stderr, "%s%s\n", prefix, body)
		return
	}
	fmt.Fprintf(stderr, "%serror: %v\n", prefix, err)
}

// clientCLIWriteJSON pretty-prints v (raw JSON is re-indented, keeping key order) to w.
func clientCLIWriteJSON(w io.Writer, v any) error {
	var raw []byte
	switch b := v.(type) {
	case json.RawMessage:
		raw = b
	case []byte:
		raw = b
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return err
		}
		raw = buf.Bytes()
	}
	var out bytes.Buffer
	if err := json.Indent(&out, bytes.TrimSpace(raw), "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err := w.Write(out.Bytes())
	return err
}

// clientCLIIsTerminal reports whether w is a character device (a terminal).
func clientCLIIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// clientCLIList is a repeatable flag; each value may also hold a comma-separated list.
type clientCLIList []string

func (l *clientCLIList) String() string { return strings.Join(*l, ",") }

func (l *clientCLIList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// clientCLIOptInt is an integer flag that remembers whether it was set.
type clientCLIOptInt struct {
	v   int
	set bool
}

func (o *clientCLIOptInt) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.Itoa(o.v)
}

func (o *clientCLIOptInt) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return errors.New("not an integer")
	}
	o.v, o.set = n, true
	return nil
}

func (o *clientCLIOptInt) ptr() *int {
	if !o.set {
		return nil
	}
	v := o.v
	return &v
}

// clientCLISize is a byte-size flag: a number of bytes with an optional KiB/MiB/GiB suffix (KB/MB/GB and K/M/G are
// read as the same binary multiples, SPEC §1.6).
type clientCLISize int64

func (s *clientCLISize) String() string {
	if s == nil {
		return "0"
	}
	v := int64(*s)
	switch {
	case v > 0 && v%(1<<30) == 0:
		return strconv.FormatInt(v>>30, 10) + "GiB"
	case v > 0 && v%(1<<20) == 0:
		return strconv.FormatInt(v>>20, 10) + "MiB"
	case v > 0 && v%(1<<10) == 0:
		return strconv.FormatInt(v>>10, 10) + "KiB"
	}
	return strconv.FormatInt(v, 10)
}

func (s *clientCLISize) Set(v string) error {
	n, err := clientCLIParseSize(v)
	if err != nil {
		return err
	}
	*s = clientCLISize(n)
	return nil
}

func clientCLIParseSize(v string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(v))
	mult := int64(1)
	for _, suf := range []struct {
		s string
		m int64
	}{{"gib", 1 << 30}, {"gb", 1 << 30}, {"g", 1 << 30}, {"mib", 1 << 20}, {"mb", 1 << 20}, {"m", 1 << 20},
		{"kib", 1 << 10}, {"kb", 1 << 10}, {"k", 1 << 10}, {"b", 1}} {
		if strings.HasSuffix(t, suf.s) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, suf.s)), suf.m
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || f*float64(mult) > float64(math.MaxInt32)*4 {
		return 0, fmt.Errorf("invalid size %q (want bytes or a number with KiB, MiB or GiB)", v)
	}
	return int64(f * float64(mult)), nil
}
