// What several panels share: the partner list (loaded once, again after a change) and a
// tiny event bus, so that a panel never reaches into another one.

import {call, PAYLOAD_PATTERNS} from "./api.js";

const handlers = new Map();

export function on(name, handler) {
  if (!handlers.has(name)) handlers.set(name, new Set());
  handlers.get(name).add(handler);
}

export function emit(name, value) {
  for (const handler of handlers.get(name) || []) handler(value);
}

export const state = {partners: [], loaded: false, status: null};

export async function loadPartners() {
  const {data} = await call("GET", "/imnot/admin/partners");
  state.partners = Array.isArray(data) ? data : [];
  state.loaded = true;
  emit("partners", state.partners);
  return state.partners;
}

export function partner(name) {
  return state.partners.find((p) => p.partner === name) || null;
}

export function datapoint(partnerName, name) {
  const found = partner(partnerName);
  return found ? found.datapoints.find((d) => d.name === name) || null : null;
}

// [partner, datapoint] pairs whose datapoint takes uploaded payloads.
export function payloadDatapoints() {
  const pairs = [];
  for (const p of state.partners) {
    for (const d of p.datapoints) if (PAYLOAD_PATTERNS.has(d.pattern)) pairs.push([p, d]);
  }
  return pairs;
}

// Fill a partner <select> and its datapoint <select>; keeps the choice when it still exists.
export function bindPartnerSelects(partnerSelect, datapointSelect, {payloadOnly = false} = {}) {
  const refill = () => {
    const chosen = partnerSelect.value;
    const names = state.partners
      .filter((p) => !payloadOnly || p.datapoints.some((d) => PAYLOAD_PATTERNS.has(d.pattern)))
      .map((p) => p.partner);
    replaceOptions(partnerSelect, names, names.includes(chosen) ? chosen : names[0]);
    refillDatapoints();
  };
  const refillDatapoints = () => {
    const chosen = datapointSelect.value;
    const found = partner(partnerSelect.value);
    const names = found ? found.datapoints
      .filter((d) => !payloadOnly || PAYLOAD_PATTERNS.has(d.pattern)).map((d) => d.name) : [];
    replaceOptions(datapointSelect, names, names.includes(chosen) ? chosen : names[0]);
    datapointSelect.dispatchEvent(new Event("change"));
  };
  partnerSelect.addEventListener("change", refillDatapoints);
  on("partners", refill);
  if (state.loaded) refill();
  return {
    select(partnerName, datapointName) {
      partnerSelect.value = partnerName;
      refillDatapoints();
      if (datapointName) {
        datapointSelect.value = datapointName;
        datapointSelect.dispatchEvent(new Event("change"));
      }
    },
  };
}

function replaceOptions(select, names, selected) {
  while (select.firstChild) select.removeChild(select.firstChild);
  for (const name of names) {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = name;
    option.selected = name === selected;
    select.appendChild(option);
  }
}
