// Package api holds the OpenAPI document of campaignstats, served at /openapi.yaml.
package api

import _ "embed"

//go:embed openapi.yaml
var spec []byte

// Spec returns the OpenAPI 3 document.
func Spec() []byte { return append([]byte(nil), spec...) }
