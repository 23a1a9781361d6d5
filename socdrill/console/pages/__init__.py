"""The console's pages: server-rendered HTML and HTMX fragments. They only read;
every change goes through the JSON API (``static/js/api.js``)."""
