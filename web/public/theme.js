// Runs before first paint: dark mode from the saved choice, else from the system setting.
(() => {
  var saved = null;
  try {
    saved = localStorage.getItem('agnox-theme');
  } catch {
    /* storage blocked */
  }
  var dark = saved ? saved === 'dark' : window.matchMedia('(prefers-color-scheme: dark)').matches;
  document.documentElement.classList.toggle('dark', dark);
})();
