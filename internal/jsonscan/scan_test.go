package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

var scanSeeds = []string{
	`{}`, `[]`, `{"a":1}`, `{"a":[1,2,{"b":null}]}`, ` { "a" : "b" } `, `"x"`, `1`, `-0`, `-0.5e+10`, `1E5`,
	`true`, `false`, `null`, `"\u0041\n\t\"\\\/"`, `"\ud83d\ude00"`, `"\ud800"`, `"\udc00x"`, `"\ud800\u0041"`,
	`{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{"a"}`, `{"a":}`, `{a:1}`, `01`, `1.`, `.5`, `1e`, `-`, `+1`, `tru`,
	`"abc`, "\"a\x01b\"", `"\x"`, `"\u12G4"`, `[1 2]`, `{"a":1 "b":2}`, `nulll`, `{} {}`, "\t\n\r 5 \n",
	`[[[[[]]]]]`, `{"":""}`, `"é日本"`, `1.5e-3`, `123456789012345678901234567890`, `{"events":`,
	`[{"a":[1,{"b":"c"}]},"x",[],{}]`, `[1,2 ,3 ]`,
}

// TestValidJSONMatchesEncodingJSON checks the scanner against encoding/json on the seeds.
func TestValidJSONMatchesEncodingJSON(t *testing.T) {
	for _, s := range scanSeeds {
		checkScan(t, []byte(s))
	}
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	checkScan(t, []byte(deep))
	deeper := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
	checkScan(t, []byte(deeper))
}

func checkScan(t *testing.T, b []byte) {
	t.Helper()
	if !utf8.Valid(b) {
		return // bodies are UTF-8 checked before scanning
	}
	if got, want := Valid(b), json.Valid(b); got != want {
		t.Fatalf("Valid(%q) = %v, encoding/json says %v", truncate(b), got, want)
	}
	if !json.Valid(b) {
		return
	}
	i := SkipWS(b, 0)
	switch b[i] {
	case '"':
		var want string
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		j := len(b)
		for IsWS(b[j-1]) {
			j--
		}
		if got := unquote(b[i:j]); got != want {
			t.Fatalf("unquote(%q) = %q, want %q", b, got, want)
		}
	case '{':
		// Members come out in order with exact value text.
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		it := NewObjIter(b[i:])
		n := 0
		last := map[string]string{}
		for {
			k, esc, v, ok := it.Next()
			if !ok {
				break
			}
			key := string(k)
			if esc {
				key = string(UnquoteKey(k))
			}
			last[key] = string(v)
			n++
		}
		for k, v := range m {
			if last[k] != string(v) {
				t.Fatalf("%q: member %q = %q, want %q", b, k, last[k], v)
			}
		}
		if n < len(m) {
			t.Fatalf("%q: %d members, encoding/json has %d distinct keys", b, n, len(m))
		}
	case '[':
		// Elements come out in order with exact value text.
		var want []json.RawMessage
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		it := NewArrIter(b[i:])
		var got []string
		for {
			v, ok := it.Next()
			if !ok {
				break
			}
			got = append(got, string(v))
		}
		if it.End() < 0 || len(got) != len(want) || it.Count() != len(want) {
			t.Fatalf("%q: %d elements (end %d), want %d", b, len(got), it.End(), len(want))
		}
		for k := range want {
			if got[k] != string(want[k]) {
				t.Fatalf("%q: element %d = %q, want %q", b, k, got[k], want[k])
			}
		}
	}
}

func truncate(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}

func FuzzValidJSON(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkScan(t, b) })
}

// unquote returns the decoded text of the valid JSON string literal raw (quotes included).
func unquote(raw []byte) string { return string(Unquote(raw)) }

// TestIterators walks nested values the way the ingest decoders do: NextKey with Child / EndChild and SkipTo for
// objects, NextStart / Finish for arrays, and checks the offsets and texts handed out.
func TestIterators(t *testing.T) {
	b := []byte(`{"a": {"x": 1, "y": [true]}, "b": [10, {"c": null}], "c": "s"}`)
	it := ObjectAt(b, 0, 1)
	var seen []string
	for {
		key, esc, ok := it.NextKey()
		if !ok {
			break
		}
		if esc {
			t.Fatalf("key %q has no escapes", key)
		}
		switch string(key) {
		case "a":
			c := it.Child()
			if c.Depth() != 2 {
				t.Fatalf("child depth %d", c.Depth())
			}
			for {
				k, _, v, ok := c.Next()
				if !ok {
					break
				}
				seen = append(seen, "a."+string(k)+"="+string(v))
			}
			v, ok := it.EndChild(&c)
			if !ok || string(v) != `{"x": 1, "y": [true]}` {
				t.Fatalf("EndChild = %q, %v", v, ok)
			}
		case "b":
			arr := ArrayAt(b, it.Pos(), it.Depth()+1)
			for {
				start, ok := arr.NextStart()
				if !ok {
					break
				}
				end := SkipValue(b, start, arr.Depth())
				seen = append(seen, "b["+string(rune('0'+arr.Count()))+"]="+string(b[start:end]))
				arr.Finish(end)
			}
			end := arr.End()
			if end < 0 {
				t.Fatal("array invalid")
			}
			it.SkipTo(end)
		default:
			v, ok := it.SkipVal()
			if !ok {
				t.Fatal("SkipVal failed")
			}
			seen = append(seen, string(key)+"="+string(v))
		}
	}
	if it.End() != len(b) {
		t.Fatalf("End = %d, want %d", it.End(), len(b))
	}
	want := `a.x=1 a.y=[true] b[0]=10 b[1]={"c": null} c="s"`
	if got := strings.Join(seen, " "); got != want {
		t.Fatalf("walk = %s\nwant   %s", got, want)
	}

	// Fail makes the object invalid; TrustedObjIter reads valid text without validating it.
	bad := NewObjIter([]byte(`{"a":1}`))
	bad.NextKey()
	bad.Fail()
	if _, _, ok := bad.NextKey(); ok || bad.End() != -1 {
		t.Fatal("Fail did not invalidate the iterator")
	}
	tr := TrustedObjIter([]byte(`{"k\"ey":"v\\","n":[1,{"m":"}"}]}`))
	var keys []string
	for {
		k, esc, v, ok := tr.Next()
		if !ok {
			break
		}
		if esc {
			k = UnquoteKey(k)
		}
		keys = append(keys, string(k)+"="+string(v))
	}
	if got := strings.Join(keys, " "); got != `k"ey="v\\" n=[1,{"m":"}"}]` || tr.End() < 0 {
		t.Fatalf("trusted walk = %s (end %d)", got, tr.End())
	}
}
