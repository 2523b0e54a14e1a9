/** dlt's GitHub example (repositories → issues → comments, incremental on updated_at) as a sluice source, against the mock. */
export function githubSource(baseUrl: string): Record<string, unknown> {
  return {
    client: { baseUrl, auth: { type: 'bearer', token: '{env.GITHUB_TOKEN}' }, rate: '6000/1m' },
    defaults: { pagination: { type: 'link', limitParam: 'per_page', limit: 100 }, primaryKey: 'id' },
    resources: {
      repos: { path: '/repos' },
      issues: {
        path: '/repos/{resources.repos.name}/issues',
        include: ['name'],
        incremental: { cursorPath: 'updated_at', param: 'since', initialValue: '2020-01-01T00:00:00Z' },
      },
      comments: { path: '/repos/{resources.issues._repos_name}/issues/{resources.issues.number}/comments', include: ['number'] },
    },
  };
}
