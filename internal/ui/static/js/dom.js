// Small DOM helpers. Text always goes in as text nodes or textContent, never as HTML.

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.setAttribute('class', v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// h builds an HTML element: h('a', {href: '#/x', class: 'link'}, 'text', child, …).
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

// svg builds an SVG element.
export function svg(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let uid = 0;
// id returns a document-unique id with the given prefix.
export function id(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

// loading is the placeholder shown while a region loads.
export function loading(text) {
  return h('p', {class: 'loading', role: 'status'}, h('span', {class: 'spinner', 'aria-hidden': 'true'}), text || 'Loading…');
}

// errorBox is an inline error; the API's own text is shown as is.
export function errorBox(err, prefix) {
  const msg = err && err.message ? err.message : String(err);
  return h('div', {class: 'error', role: 'alert'}, prefix ? h('strong', {}, prefix + ' ') : null, msg);
}

export function empty(text) {
  return h('p', {class: 'empty'}, text);
}

// scrollRegion wraps a wide table so that it scrolls on its own; it is focusable so that keyboard users can scroll.
export function scrollRegion(label, child) {
  return h('div', {class: 'scroll', role: 'region', 'aria-label': label, tabindex: '0'}, child);
}
