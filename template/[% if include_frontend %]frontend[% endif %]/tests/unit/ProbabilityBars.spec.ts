import { mount } from '@vue/test-utils'
import { expect, it } from 'vitest'
import ProbabilityBars from '../../src/components/ProbabilityBars.vue'

it('lists classes from most to least likely with percentages', () => {
  const wrapper = mount(ProbabilityBars, { props: { probabilities: { 0: 0.1, 1: 0.85, 2: 0.05 } } })
  const rows = wrapper
    .findAll('[data-test="bar"]')
    .map((row) => [row.find('.label').text(), row.find('.value').text()])
  expect(rows).toEqual([
    ['1', '85.0%'],
    ['0', '10.0%'],
    ['2', '5.0%'],
  ])
  expect(wrapper.find('.fill').attributes('style')).toContain('width: 85%')
})
