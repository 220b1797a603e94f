package awsapi

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

type testValue struct {
	DataType    string  `json:"DataType" query:"DataType"`
	StringValue *string `json:"StringValue" query:"StringValue"`
	BinaryValue []byte  `json:"BinaryValue" query:"BinaryValue"`
}

type testEntry struct {
	ID    string               `json:"Id" query:"Id"`
	Delay *int32               `json:"DelaySeconds" query:"DelaySeconds"`
	Attrs map[string]testValue `json:"MessageAttributes" query:"MessageAttribute,Name,Value"`
}

type testInput struct {
	QueueURL string            `json:"QueueUrl" query:"QueueUrl"`
	Names    []string          `json:"AttributeNames" query:"AttributeName"`
	Tags     map[string]string `json:"Tags" query:"Tag|Tags,Key,Value"`
	Entries  []testEntry       `json:"Entries" query:"Entry"`
	Max      *int32            `json:"Max" query:"Max"`
	Flag     bool              `json:"Flag" query:"Flag"`
}

func TestDecodeQuery(t *testing.T) {
	vs, err := url.ParseQuery("QueueUrl=http%3A%2F%2Fh%2F1%2Fq&AttributeName.2=B&AttributeName.1=A&AttributeName.10=C" +
		"&Tags.1.Key=k&Tags.1.Value=v&Entry.2.Id=second&Entry.1.Id=first&Entry.1.DelaySeconds=5" +
		"&Entry.1.MessageAttribute.1.Name=n&Entry.1.MessageAttribute.1.Value.DataType=Binary" +
		"&Entry.1.MessageAttribute.1.Value.BinaryValue=AAE%3D&Max=3&Flag=true")
	if err != nil {
		t.Fatal(err)
	}
	var got testInput
	if err := DecodeQuery(vs, &got); err != nil {
		t.Fatal(err)
	}
	five, three := int32(5), int32(3)
	want := testInput{QueueURL: "http://h/1/q", Names: []string{"A", "B", "C"}, Tags: map[string]string{"k": "v"},
		Entries: []testEntry{{ID: "first", Delay: &five, Attrs: map[string]testValue{"n": {DataType: "Binary", BinaryValue: []byte{0, 1}}}},
			{ID: "second"}}, Max: &three, Flag: true}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{"Max=x", "Flag=maybe", "Entry.1.MessageAttribute.1.Value.DataType=Binary", "Entry.1.MessageAttribute.1.Name=n&Entry.1.MessageAttribute.1.Value.BinaryValue=***"} {
		vs, _ := url.ParseQuery(bad)
		var in testInput
		if err := DecodeQuery(vs, &in); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestDecodeJSON(t *testing.T) {
	var in testInput
	if err := DecodeJSON([]byte(`{"QueueUrl":"u","Max":2,"Unknown":[1],"Entries":[{"Id":"a","MessageAttributes":{"x":{"DataType":"Binary","BinaryValue":"AAE="}}}]}`), &in); err != nil {
		t.Fatal(err)
	}
	if in.QueueURL != "u" || *in.Max != 2 || in.Entries[0].Attrs["x"].BinaryValue[1] != 1 {
		t.Fatalf("%+v", in)
	}
	for _, bad := range []string{`[]`, `{"Max":"2"}`, `{"QueueUrl":`, `"x"`} {
		if err := DecodeJSON([]byte(bad), &in); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	var de *DecodeError
	if err := DecodeJSON([]byte(`{"Entries":[{"Id":3}]}`), &in); !errors.As(err, &de) || de.Param != "Entries.0.Id" {
		t.Errorf("wrong type: %v, want a DecodeError of Entries.0.Id", err)
	}
	// encoding/json's leniencies: names in any case, the last of repeated
	// members, invalid UTF-8 as U+FFFD.
	for body, want := range map[string]string{`{"queueurl":"a"}`: "a", `{"QueueUrl":"a","QueueUrl":"b"}`: "b",
		"{\"QueueUrl\":\"x\xffy\"}": "x\uFFFDy"} {
		in = testInput{}
		if err := DecodeJSON([]byte(body), &in); err != nil || in.QueueURL != want {
			t.Errorf("%s: QueueUrl %q (%v), want %q", body, in.QueueURL, err, want)
		}
	}
}

func TestWriterShapes(t *testing.T) {
	render := func(p Protocol) string {
		w := NewWriter(p, "urn:ns", nil)
		w.Begin("Op", true)
		w.Str("Url", "a\r\"<b>")
		w.Int("N", 7)
		w.StrMap("Attributes", "Attribute", "Name", "Value", map[string]string{"z": "1", "a": "2"})
		w.StrList("Urls", "QueueUrl", []string{"u1", "u2"})
		w.BeginList("Messages")
		for _, id := range []string{"m1", "m2"} {
			w.BeginItem("Message")
			w.Str("Id", id)
			w.BeginMap("MessageAttributes")
			w.BeginEntry("MessageAttribute", "Name", "Value", "k")
			w.Blob("BinaryValue", []byte{0, 1})
			w.EndEntry("MessageAttribute", "Value")
			w.EndMap()
			w.EndItem("Message")
		}
		w.EndList()
		return string(w.End("rid"))
	}
	j := render(JSON)
	wantJSON := `{"Url":"a\r\"<b>","N":7,"Attributes":{"a":"2","z":"1"},"Urls":["u1","u2"],"Messages":[` +
		`{"Id":"m1","MessageAttributes":{"k":{"BinaryValue":"AAE="}}},{"Id":"m2","MessageAttributes":{"k":{"BinaryValue":"AAE="}}}]}`
	if j != wantJSON {
		t.Fatalf("JSON:\n%s\nwant\n%s", j, wantJSON)
	}
	if !json.Valid([]byte(j)) {
		t.Fatal("invalid JSON")
	}
	x := render(Query)
	wantXML := `<?xml version="1.0"?><OpResponse xmlns="urn:ns"><OpResult><Url>a&#xD;&quot;&lt;b&gt;</Url><N>7</N>` +
		`<Attribute><Name>a</Name><Value>2</Value></Attribute><Attribute><Name>z</Name><Value>1</Value></Attribute>` +
		`<QueueUrl>u1</QueueUrl><QueueUrl>u2</QueueUrl>` +
		`<Message><Id>m1</Id><MessageAttribute><Name>k</Name><Value><BinaryValue>AAE=</BinaryValue></Value></MessageAttribute></Message>` +
		`<Message><Id>m2</Id><MessageAttribute><Name>k</Name><Value><BinaryValue>AAE=</BinaryValue></Value></MessageAttribute></Message>` +
		`</OpResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></OpResponse>`
	if x != wantXML {
		t.Fatalf("XML:\n%s\nwant\n%s", x, wantXML)
	}
	var v struct {
		URL string `xml:"OpResult>Url"`
	}
	if err := xml.Unmarshal([]byte(x), &v); err != nil || v.URL != "a\r\"<b>" {
		t.Fatalf("XML round trip: %v %q", err, v.URL)
	}
}

func TestEscaping(t *testing.T) {
	if got := string(AppendJSONString(nil, "a\x01\"\\\n\xff😀")); got != `"a\u0001\"\\\n\ufffd😀"` {
		t.Errorf("JSON: %s", got)
	}
	if got := string(AppendXMLEscaped(nil, "a\x01\r'\xff")); got != "a\uFFFD&#xD;&apos;\uFFFD" {
		t.Errorf("XML: %q", got)
	}
}

func TestDetectProtocol(t *testing.T) {
	for _, c := range []struct {
		target, ct string
		want       Protocol
	}{
		{"AmazonSQS.SendMessage", "", JSON},
		{"", "application/x-amz-json-1.0; charset=utf-8", JSON},
		{"", "Application/X-Amz-Json-1.1", JSON},
		{"", "application/x-www-form-urlencoded", Query},
		{"", "", Query},
	} {
		r, _ := http.NewRequest(http.MethodPost, "/", strings.NewReader(""))
		if c.target != "" {
			r.Header.Set("X-Amz-Target", c.target)
		}
		if c.ct != "" {
			r.Header.Set("Content-Type", c.ct)
		}
		if got := DetectProtocol(r); got != c.want {
			t.Errorf("%+v: %v", c, got)
		}
	}
}

func TestReadBodyLimit(t *testing.T) {
	r, _ := http.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("x", 11)))
	r.ContentLength = -1
	if _, err := ReadBody(r, 10); err != ErrTooLarge {
		t.Fatalf("ReadBody over the limit: %v", err)
	}
	r, _ = http.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("x", 10)))
	bp, err := ReadBody(r, 10)
	if err != nil || len(*bp) != 10 {
		t.Fatalf("ReadBody: %v", err)
	}
	ReleaseBody(bp)
}

func FuzzDecodeQuery(f *testing.F) {
	f.Add("Action=SendMessageBatch&Entry.1.Id=a&Entry.1.MessageAttribute.1.Name=n&Entry.1.MessageAttribute.1.Value.DataType=String")
	f.Add("AttributeName.1=All&Tags.3.Key=k&Tags.3.Value=v&Max=10&Flag=false")
	f.Add("Entry.99999999999.Id=x&Entry.0.Id=y&Entry.01.Id=z&%zz=1")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := http.NewRequest(http.MethodPost, "/", strings.NewReader(s))
		if err != nil {
			return
		}
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		vs, err := ParseQuery(r, []byte(s))
		if err != nil {
			return
		}
		var in testInput
		_ = DecodeQuery(vs, &in)
	})
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add(`{"QueueUrl":"u","Entries":[{"Id":"a","MessageAttributes":{"x":{"DataType":"Binary","BinaryValue":"AAE="}}}]}`)
	f.Add(`{"Max":99999999999}`)
	f.Add(`{`)
	f.Fuzz(func(t *testing.T, s string) {
		var in testInput
		_ = DecodeJSON([]byte(s), &in)
	})
}
