// Starts GOV.UK Frontend's components (skip link, service navigation menu, error summary,
// password reveal). Loaded as an ES module, so only browsers that GOV.UK Frontend supports
// run it; the class tells its CSS and JavaScript so. No inline script is needed, which keeps
// the page within a Content Security Policy that forbids inline script.
document.body.classList.add("govuk-frontend-supported");

// The template gives GOV.UK Frontend's URL, so it carries the hashed file name in production.
const script = document.querySelector("script[data-govuk-frontend]");
const { initAll } = await import(script.dataset.govukFrontend);
initAll();
