// Package english spells counts and articles in messages, so that reglock
// says "1 domain", "2 fixes" and "an enom account" rather than "1 domains",
// "1 fixes" and "a enom account".
package english

import (
	"strconv"
	"strings"
	"time"
)

// Count is n followed by noun, in the plural unless n is 1 or -1:
// Count(1, "domain") is "1 domain", Count(3, "fix") "3 fixes".
func Count[N ~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64](n N, noun string) string {
	s := strconv.FormatInt(int64(n), 10)
	if n == 1 || s == "-1" {
		return s + " " + noun
	}
	return s + " " + Plural(noun)
}

// Plural is the plural of a regular English noun: "fixes", "entries",
// "domains". The last word of a phrase takes it: "registrar call" becomes
// "registrar calls".
func Plural(noun string) string {
	l := strings.ToLower(noun)
	switch {
	case l == "":
		return noun
	case strings.HasSuffix(l, "s"), strings.HasSuffix(l, "x"), strings.HasSuffix(l, "z"),
		strings.HasSuffix(l, "ch"), strings.HasSuffix(l, "sh"):
		return noun + "es"
	case strings.HasSuffix(l, "y") && len(l) > 1 && !strings.ContainsRune("aeiou", rune(l[len(l)-2])):
		return noun[:len(noun)-1] + "ies"
	}
	return noun + "s"
}

// A is word with its indefinite article: "a whmcs account" from
// A("whmcs")+" account", "an enom", "an ee", "an opensrs", "an unlock",
// "a unit". It goes by the first letter, with the usual exceptions for
// words that start with the sound of "you" or "w".
func A(word string) string {
	l := strings.ToLower(word)
	if l == "" {
		return word
	}
	an := strings.ContainsRune("aeio", rune(l[0])) || l[0] == 'u'
	for _, p := range []string{"uni", "use", "usu", "uti", "uri", "url", "eu", "one", "once"} {
		if strings.HasPrefix(l, p) {
			an = false
		}
	}
	for _, p := range []string{"hour", "honest", "honor", "honour", "heir"} {
		if strings.HasPrefix(l, p) {
			an = true
		}
	}
	if an {
		return "an " + word
	}
	return "a " + word
}

// Duration says d in days, hours, minutes and seconds: "366 days",
// "1 day 12 hours", "1 minute 30 seconds". Below a second, or with a
// fraction of one, it is Go's own form.
func Duration(d time.Duration) string {
	if d < time.Second && d > -time.Second || d%time.Second != 0 {
		return d.String()
	}
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	var parts []string
	for _, u := range []struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}} {
		if n := d / u.size; n > 0 {
			parts = append(parts, Count(int64(n), u.name))
			d -= n * u.size
		}
	}
	return sign + strings.Join(parts, " ")
}
