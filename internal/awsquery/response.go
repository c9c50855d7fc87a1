package awsquery

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strconv"
	"time"
)

// Namespace is the STS XML namespace.
const Namespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// TimeFormat renders timestamps in RFC 3339 UTC, as STS does.
const TimeFormat = "2006-01-02T15:04:05Z"

// kind of a Field's value.
type kind uint8

const (
	kindString kind = iota
	kindInt
	kindTime
	kindStruct
)

// Field is one member of a result: a string, an integer, a timestamp or a
// structure of further fields. Absent optional members are simply not added,
// so they are omitted on the wire.
type Field struct {
	Name     string
	str      string
	num      int64
	at       time.Time
	kind     kind
	children []Field
}

// Str is a string member.
func Str(name, v string) Field { return Field{Name: name, str: v} }

// IntField is an integer member.
func IntField(name string, v int64) Field { return Field{Name: name, num: v, kind: kindInt} }

// Time is a timestamp member.
func Time(name string, t time.Time) Field { return Field{Name: name, at: t, kind: kindTime} }

// Struct is a structure member.
func Struct(name string, children ...Field) Field {
	return Field{Name: name, kind: kindStruct, children: children}
}

// WriteXML encodes <{Op}Response><{Op}Result>...</{Op}Result>
// <ResponseMetadata><RequestId>..</RequestId></ResponseMetadata></{Op}Response>.
func WriteXML(b *bytes.Buffer, op string, result []Field, requestID string) {
	b.WriteString(`<` + op + `Response xmlns="` + Namespace + `">` + "\n  <" + op + "Result>\n")
	for _, f := range result {
		writeXMLField(b, f, 4)
	}
	b.WriteString("  </" + op + "Result>\n  <ResponseMetadata>\n    <RequestId>")
	escape(b, requestID)
	b.WriteString("</RequestId>\n  </ResponseMetadata>\n</" + op + "Response>\n")
}

func writeXMLField(b *bytes.Buffer, f Field, indent int) {
	pad := "                "[:indent]
	b.WriteString(pad)
	b.WriteByte('<')
	b.WriteString(f.Name)
	b.WriteByte('>')
	switch f.kind {
	case kindString:
		escape(b, f.str)
	case kindInt:
		b.WriteString(strconv.FormatInt(f.num, 10))
	case kindTime:
		var t [24]byte
		b.Write(f.at.UTC().AppendFormat(t[:0], TimeFormat))
	case kindStruct:
		b.WriteByte('\n')
		for _, c := range f.children {
			writeXMLField(b, c, indent+2)
		}
		b.WriteString(pad)
	}
	b.WriteString("</")
	b.WriteString(f.Name)
	b.WriteString(">\n")
}

// WriteErrorXML encodes an ErrorResponse. RequestId is a sibling of Error,
// not inside ResponseMetadata. Type is Sender for client faults.
func WriteErrorXML(b *bytes.Buffer, code, message string, sender bool, requestID string) {
	b.WriteString(`<ErrorResponse xmlns="` + Namespace + `">` + "\n  <Error>\n    <Type>")
	b.WriteString(faultType(sender))
	b.WriteString("</Type>\n    <Code>")
	escape(b, code)
	b.WriteString("</Code>\n    <Message>")
	escape(b, message)
	b.WriteString("</Message>\n  </Error>\n  <RequestId>")
	escape(b, requestID)
	b.WriteString("</RequestId>\n</ErrorResponse>\n")
}

// WriteJSON encodes the legacy JSON form real STS returns for
// Accept: application/json, e.g.
// {"GetCallerIdentityResponse":{"GetCallerIdentityResult":{...},"ResponseMetadata":{"RequestId":"..."}}}.
// Timestamps become epoch seconds.
func WriteJSON(b *bytes.Buffer, op string, result []Field, requestID string) {
	res := map[string]any{}
	for _, f := range result {
		res[f.Name] = jsonValue(f)
	}
	doc := map[string]any{op + "Response": map[string]any{
		op + "Result":      res,
		"ResponseMetadata": map[string]string{"RequestId": requestID},
	}}
	_ = json.NewEncoder(b).Encode(doc) // maps of strings and numbers cannot fail
}

func jsonValue(f Field) any {
	switch f.kind {
	case kindInt:
		return f.num
	case kindTime:
		return f.at.Unix()
	case kindStruct:
		m := map[string]any{}
		for _, c := range f.children {
			m[c.Name] = jsonValue(c)
		}
		return m
	}
	return f.str
}

// WriteErrorJSON encodes {"Error":{"Code","Message","Type"},"RequestId"}.
func WriteErrorJSON(b *bytes.Buffer, code, message string, sender bool, requestID string) {
	doc := map[string]any{
		"Error":     map[string]string{"Code": code, "Message": message, "Type": faultType(sender)},
		"RequestId": requestID,
	}
	_ = json.NewEncoder(b).Encode(doc)
}

func faultType(sender bool) string {
	if sender {
		return "Sender"
	}
	return "Receiver"
}

// escape writes s as XML character data. encoding/xml replaces characters
// that XML 1.0 cannot carry with U+FFFD.
func escape(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '&' || c == '<' || c == '>' || c == '"' || c == '\'' {
			_ = xml.EscapeText(b, []byte(s))
			return
		}
	}
	b.WriteString(s)
}
