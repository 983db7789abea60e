// Staff report and analytics pages: behaviour that the Content-Security-Policy keeps out of inline
// handlers (a button with data-print prints the page).
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
