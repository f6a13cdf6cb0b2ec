// The window's slowest tests (by average duration) and most failing tests (by failures), side by side.
import { Card, Empty } from '../../components/ui';
import { duration } from '../../lib/format';
import type { TestStat } from './types';

export function TestRankingCards({ slowest, mostFailing }: { slowest: TestStat[]; mostFailing: TestStat[] }) {
  return (
    <div class='grid gap-4 lg:grid-cols-2'>
      <Card title='Slowest tests'>
        {!slowest.length ? (
          <Empty>No test results yet.</Empty>
        ) : (
          <table class='w-full text-sm' data-testid='slowest-tests'>
            <tbody>
              {slowest.map((t) => (
                <tr key={t.testKey} class='border-t border-slate-100 dark:border-slate-800'>
                  <td class='py-1 pr-2 break-all'>{t.testKey}</td>
                  <td class='py-1 text-right whitespace-nowrap'>{duration(t.avgMs)} avg</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      <Card title='Most failing tests'>
        {!mostFailing.length ? (
          <Empty>No failures in this window.</Empty>
        ) : (
          <table class='w-full text-sm' data-testid='most-failing'>
            <tbody>
              {mostFailing.map((t) => (
                <tr key={t.testKey} class='border-t border-slate-100 dark:border-slate-800'>
                  <td class='py-1 pr-2 break-all'>{t.testKey}</td>
                  <td class='py-1 text-right whitespace-nowrap'>
                    {t.failures} failure{t.failures === 1 ? '' : 's'} / {t.runs} runs
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}
