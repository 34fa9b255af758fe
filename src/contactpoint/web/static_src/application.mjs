import { initAll } from "./govuk/govuk-frontend.min.js";

initAll();

// GOV.UK Frontend marks a radio or checkbox that reveals a follow-up question with aria-expanded. ARIA 1.2 does
// not allow that attribute on those roles (axe: aria-allowed-attr, critical), and screen readers announce the
// revealed question anyway, as it follows the input. Take the attribute off whenever the library sets it; its
// aria-controls (allowed on any element) stays.
const unexpand = new MutationObserver((records) => {
  for (const record of records) record.target.removeAttribute("aria-expanded");
});
for (const input of document.querySelectorAll(".govuk-radios__input[aria-controls], .govuk-checkboxes__input[aria-controls]")) {
  input.removeAttribute("aria-expanded");
  unexpand.observe(input, { attributes: true, attributeFilter: ["aria-expanded"] });
}

// The idle timeout (DESIGN.md section 4): a session unused for 15 minutes ends. Warn a few minutes before, with
// a way to stay signed in; when the time is up, load the page again, which shows why the user was signed out
// and brings them back here after they sign in again.
const timeout = document.getElementById("app-timeout");
if (timeout && typeof timeout.showModal === "function") {
  const idle = Number(timeout.dataset.idleSeconds) * 1000;
  const warnBefore = Number(timeout.dataset.warnSeconds) * 1000;
  const csrf = timeout.querySelector("input[name=csrfmiddlewaretoken]").value;
  let warnTimer;
  let endTimer;
  const arm = () => {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    warnTimer = setTimeout(() => timeout.showModal(), Math.max(idle - warnBefore, 0));
    endTimer = setTimeout(() => window.location.assign(window.location.pathname), idle + 1000);
  };
  timeout.querySelector("[data-stay]").addEventListener("click", async (event) => {
    event.preventDefault();
    const response = await fetch(timeout.dataset.keepAliveUrl, {
      method: "POST", headers: { "X-CSRFToken": csrf }, credentials: "same-origin", redirect: "manual",
    });
    if (response.status === 204) {
      timeout.close();
      arm();
    } else {
      window.location.assign(window.location.pathname);
    }
  });
  arm();
}

// A page that answers a form with something new at its top (search results) names it with data-app-focus: focus
// moves there, so that screen reader users hear it and the next Tab is the first result.
const answer = document.querySelector("[data-app-focus]");
if (answer && !document.querySelector(".govuk-error-summary")) answer.focus();
