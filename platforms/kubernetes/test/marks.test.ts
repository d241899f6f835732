import t from 'tap';
import { isExpired, markCalls, markOf, withMark } from '../src/marks.js';

// The fault mark a Kubernetes fault leaves on what it changed: read back as written, ignored when
// it is not one of ours, expired exactly at its deadline. The marks on a real control plane are
// in kubernetes.integration.test.ts.

const mark = { tag: 'cloudcafe-run-0', until: '2026-12-02T10:00:00.000Z', replicas: 3 };
const annotated = (value: string) => ({ name: 'menu', annotations: { 'cloudcafe.io/fault': value } });

t.test('a mark reads back as the driver wrote it', async (t) => {
  const policy = withMark(
    { metadata: { name: 'inventory', annotations: { team: 'cafe' } }, spec: { podSelector: {} } },
    mark,
  );
  t.same(markOf(policy.metadata), mark);
  t.equal(policy.metadata.annotations?.team, 'cafe', 'the annotations already there stay');
  const patch = markCalls.markDeployment('cloudcafe', 'menu', mark).body as {
    metadata: { annotations: Record<string, string> };
  };
  t.same(markOf({ name: 'menu', annotations: patch.metadata.annotations }), mark);
});

t.test('no mark, a mark that is not JSON, or one without tag and deadline is none', async (t) => {
  t.equal(markOf({ name: 'menu' }), undefined);
  t.equal(markOf(annotated('{not json')), undefined);
  t.equal(markOf(annotated('{"tag":"x"}')), undefined);
});

t.test('a mark is owed a revert from its deadline on, not before', async (t) => {
  const until = Date.parse(mark.until);
  t.notOk(isExpired(mark, until - 1));
  t.ok(isExpired(mark, until));
});

t.test('taking the mark off is a merge patch that deletes only that key', async (t) => {
  t.same(markCalls.unmarkDeployment('cloudcafe', 'menu'), {
    method: 'PATCH',
    path: '/apis/apps/v1/namespaces/cloudcafe/deployments/menu',
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations: { 'cloudcafe.io/fault': null } } },
  });
});
