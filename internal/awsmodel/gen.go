//go:build ignore

// gen trims the CloudWatch Logs API model to what validation needs (shapes,
// constraints, operations) and writes model.json beside it:
//
//	go run gen.go ../../../shared/reference/aws-logs-service-2.json
package main

import (
	"encoding/json"
	"log"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: go run gen.go PATH/aws-logs-service-2.json")
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	var m struct {
		Metadata   map[string]any            `json:"metadata"`
		Operations map[string]map[string]any `json:"operations"`
		Shapes     map[string]map[string]any `json:"shapes"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		log.Fatal(err)
	}
	keep := map[string]bool{"type": true, "members": true, "member": true, "key": true, "value": true, "required": true,
		"min": true, "max": true, "pattern": true, "enum": true, "exception": true, "eventstream": true, "union": true}
	shapes := map[string]map[string]any{}
	for name, s := range m.Shapes {
		t := map[string]any{}
		for k, v := range s {
			if !keep[k] {
				continue
			}
			if k == "members" {
				ms := map[string]any{}
				for mn, mv := range v.(map[string]any) {
					ms[mn] = map[string]any{"shape": mv.(map[string]any)["shape"]}
				}
				v = ms
			}
			if k == "member" || k == "key" || k == "value" {
				v = map[string]any{"shape": v.(map[string]any)["shape"]}
			}
			t[k] = v
		}
		shapes[name] = t
	}
	ops := map[string]any{}
	for name, op := range m.Operations {
		o := map[string]any{}
		if in, ok := op["input"]; ok {
			o["input"] = in.(map[string]any)["shape"]
		}
		ops[name] = o
	}
	out, err := json.MarshalIndent(map[string]any{"targetPrefix": m.Metadata["targetPrefix"], "operations": ops, "shapes": shapes}, "", " ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("model.json", append(out, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
}
