// A module handler for the example configs (rapid.xml and friends map /api to it): any object
// with a fetch(request) method works, such as a Hono app; so does a native (req, res) handler.
export default {
  fetch(request) {
    const url = new URL(request.url);
    return Response.json({ hello: 'world', path: url.pathname });
  },
};
