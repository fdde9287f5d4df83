// A QR code as SVG elements, drawn from uqr's matrix (served by this service from its own copy
// of the library: nothing is loaded from elsewhere). Built with the DOM, not parsed from markup.
const LIBRARY = '/assets/vendor/uqr.js'
const SVG = 'http://www.w3.org/2000/svg'
/** Light modules all round: the quiet zone ISO/IEC 18004 asks for (4 modules). */
const QUIET_ZONE = 4

/**
 * @param {string} text what the code says (an otpauth:// URI)
 * @returns {Promise<SVGSVGElement>} black modules on white, whatever the page's colours
 */
export async function qrCode(text) {
  const { encode } = /** @type {typeof import('uqr')} */ (await import(LIBRARY))
  const { size, data } = encode(text, { ecc: 'M', border: QUIET_ZONE })
  const svg = document.createElementNS(SVG, 'svg')
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`)
  svg.setAttribute('shape-rendering', 'crispEdges')
  const background = document.createElementNS(SVG, 'rect')
  background.setAttribute('width', String(size))
  background.setAttribute('height', String(size))
  background.setAttribute('fill', '#fff')
  // One path of unit squares: a few hundred of them in a single element.
  let d = ''
  data.forEach((row, y) => {
    row.forEach((dark, x) => {
      if (dark) d += `M${x} ${y}h1v1h-1z`
    })
  })
  const modules = document.createElementNS(SVG, 'path')
  modules.setAttribute('d', d)
  modules.setAttribute('fill', '#000')
  svg.append(background, modules)
  return svg
}
