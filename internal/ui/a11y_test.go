package ui_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// checkPage runs the accessibility checks on the page on screen: an axe-style audit of names, labels, ids,
// headings, references and text contrast, and a keyboard-only walk that must reach every control.
func checkPage(t *testing.T, tab *browserTab, name string) {
	t.Helper()
	for _, p := range eval[[]string](t, tab, auditJS) {
		t.Errorf("%s page: %s", name, p)
	}
	walkKeyboard(t, tab, name)
}

// auditJS returns a list of problems (empty when none): the rules an axe run would flag first on this page.
const auditJS = `(() => {
	const problems = [];
	const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
	const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.name ? '[name=' + el.name + ']' : '') +
		(el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '');
	const textOf = (ids) => ids.split(/\s+/).map((i) => document.getElementById(i)).filter(Boolean).map((e) => e.textContent).join(' ').trim();
	const nameOf = (el) => {
		if (el.getAttribute('aria-labelledby')) return textOf(el.getAttribute('aria-labelledby'));
		if (el.getAttribute('aria-label')) return el.getAttribute('aria-label').trim();
		if (el.labels && el.labels.length) return Array.from(el.labels).map((l) => l.textContent).join(' ').trim();
		if (['BUTTON', 'A', 'SUMMARY'].includes(el.tagName)) return el.textContent.trim();
		return (el.getAttribute('title') || '').trim();
	};
	if (!document.documentElement.lang) problems.push('html has no lang');
	if (!document.title.trim()) problems.push('the document has no title');
	// Every control has an accessible name.
	for (const el of document.querySelectorAll('input, select, textarea, button, a[href], summary, [role="region"], [role="img"], [role="group"], [role="search"]')) {
		if (el.type === 'hidden') continue;
		if (!nameOf(el)) problems.push('no accessible name: ' + describe(el));
	}
	// Radio groups and checkbox groups sit in a fieldset with a legend, or a group with a name.
	for (const el of document.querySelectorAll('input[type="radio"], input[type="checkbox"]')) {
		const group = el.closest('fieldset, [role="group"], [role="radiogroup"]');
		if (el.type === 'radio' && !group) problems.push('radio outside a group: ' + describe(el));
		if (group && group.tagName === 'FIELDSET' && !group.querySelector('legend')) problems.push('fieldset without legend: ' + describe(group));
	}
	// Ids are unique, and every id reference resolves.
	const seen = new Map();
	for (const el of document.querySelectorAll('[id]')) {
		if (seen.has(el.id)) problems.push('duplicate id ' + el.id);
		seen.set(el.id, el);
	}
	for (const attr of ['for', 'aria-labelledby', 'aria-describedby', 'aria-controls']) {
		for (const el of document.querySelectorAll('[' + attr + ']')) {
			for (const ref of el.getAttribute(attr).split(/\s+/).filter(Boolean)) {
				if (!document.getElementById(ref)) problems.push(attr + '="' + ref + '" on ' + describe(el) + ' resolves to nothing');
			}
		}
	}
	// One h1; headings do not skip a level.
	const heads = Array.from(document.querySelectorAll('h1, h2, h3, h4, h5, h6')).filter(visible);
	if (heads.filter((h) => h.tagName === 'H1').length !== 1) problems.push(heads.filter((h) => h.tagName === 'H1').length + ' h1 elements');
	let level = 0;
	for (const h of heads) {
		const l = Number(h.tagName[1]);
		if (l > level + 1) problems.push('heading ' + h.tagName + ' "' + h.textContent + '" skips a level');
		level = l;
	}
	// Landmarks: a main, navigation labelled; tables have headers.
	if (document.querySelectorAll('main').length !== 1) problems.push('not exactly one main');
	for (const t of document.querySelectorAll('table')) {
		if (!t.querySelector('th')) problems.push('table without headers: ' + describe(t));
		if (!t.querySelector('caption') && !t.getAttribute('aria-label')) problems.push('table without caption: ' + describe(t));
	}
	for (const th of document.querySelectorAll('th')) {
		if (!th.getAttribute('scope')) problems.push('th without scope: "' + th.textContent.slice(0, 30) + '"');
	}
	// Text contrast: at least 4.5:1 (3:1 for large text) against the background it sits on.
	const parse = (c) => { const m = c.match(/[\d.]+/g) || []; return m.map(Number).concat([1]).slice(0, 4); };
	const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
	const background = (el) => {
		let layers = [];
		for (let e = el; e; e = e.parentElement) {
			const c = parse(getComputedStyle(e).backgroundColor);
			if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
		}
		let out = [255, 255, 255];
		for (const c of layers.reverse()) out = out.map((v, i) => v * (1 - c[3]) + c[i] * c[3]);
		return out;
	};
	const checked = new Set();
	const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	for (let n = walker.nextNode(); n; n = walker.nextNode()) {
		const el = n.parentElement;
		if (!n.textContent.trim() || checked.has(el) || !visible(el)) continue;
		checked.add(el);
		const r = el.getBoundingClientRect();
		if (r.width <= 1 || r.height <= 1 || el.closest('.sr-only, svg, option, [aria-hidden="true"]')) continue;
		const cs = getComputedStyle(el);
		const fg = parse(cs.color);
		const bg = background(el);
		const mixed = fg.slice(0, 3).map((v, i) => v * fg[3] + bg[i] * (1 - fg[3]));
		const [a, b] = [lum(mixed), lum(bg)];
		const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
		const size = parseFloat(cs.fontSize);
		const large = size >= 24 || (size >= 18.66 && Number(cs.fontWeight) >= 700);
		if (ratio < (large ? 3 : 4.5)) problems.push('contrast ' + ratio.toFixed(2) + ':1 for "' + n.textContent.trim().slice(0, 30) + '" (' + cs.color + ' on rgb(' + bg.map(Math.round).join(',') + '))');
	}
	return problems;
})()`

// walkKeyboard presses Tab until focus comes back to an element it has already visited, and checks that every visible,
// enabled control was reached (a radio group counts once, as browsers give it one tab stop) and that no element
// takes a positive tabindex.
func walkKeyboard(t *testing.T, tab *browserTab, name string) {
	t.Helper()
	controls := eval[int](t, tab, `(() => {
		window.__kbd = {seen: new Set(), order: []};
		const sel = 'a[href], button, input, select, textarea, summary, [tabindex]';
		const all = Array.from(document.querySelectorAll(sel)).filter((el) => !el.disabled && el.getClientRects().length > 0 &&
			getComputedStyle(el).visibility !== 'hidden' && el.getAttribute('tabindex') !== '-1' && !el.closest('[inert]') &&
			!(el.closest('details:not([open])') && el.tagName !== 'SUMMARY'));
		window.__kbd.expected = all;
		document.activeElement && document.activeElement.blur();
		window.scrollTo(0, 0);
		return all.length;
	})()`)
	if controls == 0 {
		t.Fatalf("%s page: no controls", name)
	}
	for i := 0; i < controls*2+10; i++ {
		tab.do(t, chromedp.KeyEvent(kb.Tab))
		done := eval[bool](t, tab, `(() => {
			const el = document.activeElement;
			if (!el || el === document.body) return false; // between the page's last control and its first
			const k = window.__kbd;
			if (el === k.last) return false; // a date input takes one Tab per part (day, month, year)
			k.last = el;
			if (k.seen.has(el)) return true;
			k.seen.add(el);
			k.order.push(el);
			return false;
		})()`)
		if done {
			break
		}
	}
	missed := eval[[]string](t, tab, `(() => {
		const k = window.__kbd;
		const radios = new Set(Array.from(k.seen).filter((e) => e.type === 'radio').map((e) => e.name));
		const out = [];
		for (const el of k.expected) {
			if (k.seen.has(el) || (el.type === 'radio' && radios.has(el.name))) continue;
			out.push(el.tagName.toLowerCase() + ' "' + (el.textContent || el.name || el.id || '').trim().slice(0, 40) + '"');
		}
		for (const el of document.querySelectorAll('[tabindex]')) {
			if (Number(el.getAttribute('tabindex')) > 0) out.push('positive tabindex on ' + el.tagName.toLowerCase());
		}
		return out;
	})()`)
	if len(missed) > 0 {
		t.Errorf("%s page: the keyboard never reaches %d of %d controls: %s", name, len(missed), controls, strings.Join(missed, "; "))
	}
	reached := eval[int](t, tab, `window.__kbd.order.length`)
	t.Logf("%s page: %d tab stops cover %d controls", name, reached, controls)
}
