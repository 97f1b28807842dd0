// The audit form's live grade: as the auditor ticks criteria, the section's ticks are posted
// to the grade-preview endpoint and the grade they would earn is shown in a polite live
// region (read out by screen readers without moving focus). Nothing is saved by this; without
// JavaScript the grade is shown after saving. Loaded as an ES module, like portal.js.
const form = document.querySelector("form[data-grade-preview]");

if (form) {
  const region = document.getElementById(form.dataset.gradeRegion);
  const criteria = Array.from(form.querySelectorAll('input[name="met"]'));
  const notApplicable = form.querySelector('input[name="not_applicable"]');
  const csrfToken = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
  const UNAVAILABLE =
    "The grade could not be worked out just now. It will be shown when you save this section.";
  let latest = 0;

  const preview = async () => {
    // Answers can arrive out of order when ticks change quickly: show only the latest.
    const request = ++latest;
    let text;
    try {
      const response = await fetch(form.dataset.gradePreview, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-CSRFToken": csrfToken, Accept: "application/json" },
        credentials: "same-origin",
      });
      const answer = await response.json();
      text = response.ok ? answer.text : answer.error || UNAVAILABLE;
    } catch {
      text = UNAVAILABLE;
    }
    if (request === latest) {
      region.textContent = text;
    }
  };

  form.addEventListener("change", (event) => {
    const input = event.target;
    // A section is either not applicable or has criteria ticked, never both.
    if (input === notApplicable && input.checked) {
      criteria.forEach((criterion) => {
        criterion.checked = false;
      });
    } else if (criteria.includes(input) && input.checked && notApplicable) {
      notApplicable.checked = false;
    }
    if (input === notApplicable || criteria.includes(input)) {
      preview();
    }
  });
}
