// The dashboard's shell: sign-in, navigation and a hash router (#/campaigns, #/campaign/<id>, #/reports).
import {api, APIError, session, signIn, signOut} from './api.js';
import {clear, errorBox, h, id} from './dom.js';
import {renderCampaigns} from './campaigns.js';
import {renderCampaign} from './campaign.js';
import {renderReports} from './reports.js';
import {queryParams, readQuery} from './query.js';

const root = document.getElementById('app');

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/campaigns';
  const [path, search] = raw.split('?');
  return {parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(search || '')};
}

function navLink(href, text, current) {
  return h('a', {href, class: 'nav-link', 'aria-current': current ? 'page' : null}, text);
}

function shell(route, content) {
  const s = session();
  const q = readQuery(route.params);
  const qs = queryParams(q);
  const page = route.parts[0] || 'campaigns';
  return [
    h('a', {href: '#main', class: 'skip', onclick: (e) => {
      e.preventDefault();
      document.getElementById('main').focus();
    }}, 'Skip to content'),
    h('header', {class: 'top'},
      h('div', {class: 'brand'}, h('span', {class: 'logo', 'aria-hidden': 'true'}, '◆'), 'campaignstats'),
      h('nav', {'aria-label': 'Main'},
        navLink(`#/campaigns?${qs}`, 'Campaigns', page === 'campaigns' || page === 'campaign'),
        navLink('#/reports', 'Reports', page === 'reports')),
      h('div', {class: 'who'},
        h('span', {class: 'ws', title: 'Workspace'}, h('span', {class: 'sr-only'}, 'Workspace '), s.ws),
        h('button', {type: 'button', class: 'link-button', onclick: () => {
          signOut();
          location.hash = '#/campaigns';
          route_();
        }}, 'Sign out'))),
    h('main', {id: 'main', tabindex: '-1'}, content),
  ];
}

function renderSignIn(message) {
  document.title = 'Sign in · campaignstats';
  const wsID = id('signin-ws');
  const keyID = id('signin-key');
  const errID = id('signin-error');
  const ws = h('input', {id: wsID, name: 'workspace', autocomplete: 'username', required: true, spellcheck: 'false',
    'aria-describedby': errID});
  const key = h('input', {id: keyID, name: 'report_key', type: 'password', autocomplete: 'current-password', required: true,
    'aria-describedby': errID});
  const err = h('div', {id: errID, class: 'signin-error', 'aria-live': 'assertive'});
  const submit = h('button', {type: 'submit', class: 'primary'}, 'Sign in');
  const form = h('form', {class: 'signin', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    clear(err);
    const creds = {ws: ws.value.trim(), key: key.value.trim()};
    if (!creds.ws || !creds.key) {
      err.append(errorBox('Enter the workspace id and its report key.'));
      (creds.ws ? key : ws).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      // Any authenticated call checks the pair; Meta is the lightest (SPEC §7.1).
      await api.meta({limit: 1, page: 1}, creds);
      signIn(creds.ws, creds.key);
      route_();
    } catch (ex) {
      err.append(errorBox(ex, ex instanceof APIError && ex.title ? ex.title + ':' : ''));
      submit.disabled = false;
      submit.textContent = 'Sign in';
      key.focus();
    }
  }},
  h('h1', {}, 'Sign in'),
  h('p', {}, 'Use the workspace id and report key of the workspace to read. They are kept in this browser tab only.'),
  h('div', {class: 'field'}, h('label', {for: wsID}, 'Workspace id'), ws),
  h('div', {class: 'field'}, h('label', {for: keyID}, 'Report key'), key),
  err,
  submit);
  clear(root).append(h('main', {id: 'main', class: 'signin-page', tabindex: '-1'},
    h('div', {class: 'brand big'}, h('span', {class: 'logo', 'aria-hidden': 'true'}, '◆'), 'campaignstats'), form));
  if (message) err.append(errorBox(message));
  ws.focus();
}

let generation = 0;

// route_ renders the page of the current hash. Pages receive a `live` function that tells whether they are still
// the page on screen, so late answers of an old page are dropped.
function route_() {
  generation += 1;
  const gen = generation;
  const live = () => gen === generation;
  if (!session()) {
    renderSignIn();
    return;
  }
  const route = parseHash();
  const content = h('div', {class: 'page'});
  clear(root).append(...shell(route, content));
  const page = route.parts[0] || 'campaigns';
  try {
    if (page === 'campaign' && route.parts[1]) renderCampaign(content, route.parts[1], route.params, live);
    else if (page === 'reports') renderReports(content, live);
    else renderCampaigns(content, route.params, live);
  } catch (e) {
    content.append(errorBox(e));
  }
  const h1 = content.querySelector('h1');
  if (h1 && document.activeElement === document.body) {
    h1.setAttribute('tabindex', '-1');
    h1.focus({preventScroll: true});
  }
}

// A key that stops working (rotated, workspace disabled) signs the tab out and asks again.
window.addEventListener('campaignstats:unauthorized', (e) => {
  signOut();
  generation += 1;
  renderSignIn(e.detail);
});
window.addEventListener('hashchange', () => route_());
route_();
