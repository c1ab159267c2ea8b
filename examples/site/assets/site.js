// Shows how this page was served: asks for it again with HEAD and reports the caching headers,
// which is a small live demonstration of what Rapid's static file handler sends.
(function () {
  'use strict';
  var probe = document.getElementById('probe');
  if (!probe || !window.fetch) return;
  fetch(location.pathname, { method: 'HEAD', cache: 'no-store' })
    .then(function (res) {
      var parts = [];
      var etag = res.headers.get('etag');
      var modified = res.headers.get('last-modified');
      var type = res.headers.get('content-type');
      if (type) parts.push('Content-Type ' + type);
      if (etag) parts.push('ETag ' + etag);
      if (modified) parts.push('last modified ' + modified);
      probe.textContent = parts.length
        ? 'Served with ' + parts.join(', ') + '.'
        : 'Served, but without validators.';
    })
    .catch(function () {
      probe.textContent = 'Could not reach the server.';
    });
})();
